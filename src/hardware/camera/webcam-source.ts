/**
 * Still shots through `node-webcam`, which runs `fswebcam` once per shot: slow (each shot opens the device and lets
 * the exposure settle), but it works on any V4L2 camera. One shot every `intervalMs` (default 1000), never two at once.
 * node-webcam builds a shell command line, so the device must be a plain path.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage } from '../../runtime/image.ts';
import { Backoff } from '../../util/backoff.ts';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';
import type { CameraOptions, CameraSource, CameraStateListener } from './camera.ts';
import type { Frame } from './frame.ts';
import { CameraStateReporter } from './state-reporter.ts';

interface NodeWebcam {
  capture(location: string, callback: (err: Error | string | null, data: unknown) => void): void;
}
interface NodeWebcamModule {
  create(opts: Record<string, unknown>): NodeWebcam;
}

export class WebcamCamera implements CameraSource {
  readonly description: string;
  private readonly intervalMs: number;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private workDir: string | null = null;
  private shot: Promise<void> = Promise.resolve();
  private readonly backoff = new Backoff();
  private onFrame: (frame: Frame) => void = () => {};
  private readonly stateReporter: CameraStateReporter;

  constructor(
    private readonly device: string,
    private readonly opts: CameraOptions,
  ) {
    if (!/^[\w./-]+$/.test(device)) {
      throw new FacegateError(
        `camera "webcam:${device}": the device must be a plain path like /dev/video0`,
        ExitCode.config,
      );
    }
    this.intervalMs = opts.intervalMs ?? 1000;
    this.description = `webcam ${device} (fswebcam every ${this.intervalMs} ms)`;
    this.stateReporter = new CameraStateReporter(this.description, opts.logger);
  }

  start(onFrame: (frame: Frame) => void, onState: CameraStateListener): void {
    if (this.running) return;
    this.running = true;
    this.onFrame = onFrame;
    this.stateReporter.attach(onState);
    this.stateReporter.report('starting', this.description);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.shot;
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    this.workDir = null;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.shot = this.takeShot().then((delay) => this.schedule(delay));
    }, delayMs);
  }

  /** Takes one shot; resolves to the delay before the next. */
  private async takeShot(): Promise<number> {
    try {
      this.workDir ??= await mkdtemp(path.join(tmpdir(), 'facegate-webcam-'));
      const location = path.join(this.workDir, 'shot');
      const bytes = await this.capture(location);
      const image = await decodeImage(bytes, `webcam ${this.device}`);
      if (!this.running) return 0;
      this.stateReporter.report('streaming', this.description);
      this.backoff.markHealthy();
      this.onFrame({ image, capturedAt: Date.now(), seq: ++this.seq });
      return this.intervalMs;
    } catch (err) {
      const why = errorMessage(err);
      const missing = /no.*such.*(file|device)|no webcam|not found|cannot open/i.test(why);
      const delay = Math.max(this.backoff.nextDelayMs(), missing ? 5000 : 0, this.intervalMs);
      this.stateReporter.report(
        missing ? 'no-camera' : 'reconnecting',
        `${why}; retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      return delay;
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
    const written = await new Promise<string>((resolve, reject) => {
      webcam.capture(location, (err, data) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(typeof data === 'string' ? data : `${location}.jpg`);
      });
    });
    return readFile(written);
  }
}
