/**
 * Still shots through `node-webcam`, which runs `fswebcam` once per shot: slow (each shot opens the device and lets
 * the exposure settle), but it works on any V4L2 camera. One shot every `intervalMs` (default 1000), never two at once.
 * node-webcam builds a shell command line, so the device must be a plain path.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage } from '../../runtime/image.ts';
import { commandExists } from '../../util/command-exists.ts';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';
import type { CameraOptions } from './camera.ts';
import { CameraSourceBase } from './source-base.ts';

interface NodeWebcam {
  /** The program node-webcam runs (its FSWebcam class reads it from the instance). */
  bin: string;
  capture(location: string, callback: (err: Error | string | null, data: unknown) => void): void;
}
/** A device or program name safe to put in node-webcam's shell command line. */
const PLAIN_PATH = /^[\w./-]+$/;
/** An absent camera or program is looked for again no faster than this. */
const ABSENT_RETRY_MS = 5000;
/**
 * One shot may take this long before it counts as failed: fswebcam opens the device, skips 2 frames and writes a
 * JPEG, ~1 s on a USB camera; a wedged driver must not hold `stop()` (which waits for the shot) for ever.
 */
const SHOT_TIMEOUT_MS = 15_000;

interface NodeWebcamModule {
  create(opts: Record<string, unknown>): NodeWebcam;
}

export class WebcamCamera extends CameraSourceBase {
  private readonly intervalMs: number;
  private readonly fswebcam: string;
  private workDir: string | null = null;
  private shot: Promise<void> = Promise.resolve();

  constructor(
    private readonly device: string,
    opts: CameraOptions,
  ) {
    const intervalMs = opts.intervalMs ?? 1000;
    super(`webcam ${device} (fswebcam every ${intervalMs} ms)`, opts);
    // node-webcam builds a shell command line from both.
    if (!PLAIN_PATH.test(device)) {
      throw new FacegateError(
        `camera "webcam:${device}": the device must be a plain path like /dev/video0`,
        ExitCode.config,
      );
    }
    this.fswebcam = opts.fswebcamPath ?? 'fswebcam';
    if (!PLAIN_PATH.test(this.fswebcam)) {
      throw new FacegateError(`fswebcam "${this.fswebcam}": must be a plain path`, ExitCode.config);
    }
    this.intervalMs = intervalMs;
  }

  protected open(): void {
    this.shot = this.takeShot();
  }

  protected async close(): Promise<void> {
    await this.shot;
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    this.workDir = null;
  }

  /** Takes one shot, then schedules the next (or a retry). */
  private async takeShot(): Promise<void> {
    // Without the program every shot fails the same way: say what to install, and look again now and then.
    if (!commandExists(this.fswebcam)) {
      this.retry('no-camera', `${this.fswebcam} not found (install the Debian package fswebcam)`, ABSENT_RETRY_MS);
      return;
    }
    // No device node, no camera: decided here, not from fswebcam's wording of the failure (which differs by version).
    if (!existsSync(this.device)) {
      this.retry('no-camera', `${this.device} not found`, ABSENT_RETRY_MS);
      return;
    }
    try {
      this.workDir ??= await mkdtemp(path.join(tmpdir(), 'facegate-webcam-'));
      const location = path.join(this.workDir, 'shot');
      const bytes = await this.capture(location);
      const image = await decodeImage(bytes, `webcam ${this.device}`);
      if (!this.running) return;
      this.report('streaming', this.description);
      this.backoff.markHealthy();
      this.deliver(image);
      this.later(this.intervalMs, () => this.open());
    } catch (err) {
      const why = errorMessage(err);
      const missing = /no.*such.*(file|device)|no webcam|not found|cannot open/i.test(why);
      this.retry(missing ? 'no-camera' : 'reconnecting', why, Math.max(missing ? ABSENT_RETRY_MS : 0, this.intervalMs));
    }
  }

  private async capture(location: string): Promise<Uint8Array> {
    let mod: NodeWebcamModule;
    try {
      mod = createRequire(import.meta.url)('node-webcam') as NodeWebcamModule;
    } catch (err) {
      throw new Error(`node-webcam not available: ${errorMessage(err)}`);
    }
    const webcam = mod.create({
      width: this.opts.width ?? 640,
      height: this.opts.height ?? 480,
      device: this.device,
      output: 'jpeg',
      quality: 90,
      callbackReturn: 'location',
      frames: 1,
      skip: 2,
      verbose: false,
    });
    webcam.bin = this.fswebcam;
    let timer: NodeJS.Timeout | undefined;
    const written = await new Promise<string>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`fswebcam gave no shot within ${SHOT_TIMEOUT_MS / 1000} s`)),
        SHOT_TIMEOUT_MS,
      );
      webcam.capture(location, (err, data) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(typeof data === 'string' ? data : `${location}.jpg`);
      });
    }).finally(() => clearTimeout(timer));
    return readFile(written);
  }
}
