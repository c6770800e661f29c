/**
 * v4l2 and video-file cameras through one `ffmpeg` child that writes raw RGB24 frames of width*height*3 bytes to its
 * stdout: no JPEG decode in Node, and the frame boundary is just a byte count. A child that exits, stalls or cannot
 * open its input is restarted with backoff, forever; the states say what is going on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { CameraOptions } from './camera.ts';
import { CameraSourceBase } from './source-base.ts';

/** A camera that is simply absent is polled no faster than this. */
const NO_CAMERA_MIN_RETRY_MS = 5000;

export function ffmpegArgs(kind: 'v4l2' | 'video', target: string, opts: CameraOptions): string[] {
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  const input =
    kind === 'v4l2'
      ? [
          '-f',
          'v4l2',
          '-input_format',
          'mjpeg',
          '-video_size',
          `${width}x${height}`,
          '-framerate',
          String(opts.fps ?? 10),
        ]
      : ['-re', ...(opts.loop === false ? [] : ['-stream_loop', '-1'])];
  // Letterbox rather than stretch: a squashed face encodes differently from the enrolled one.
  const filters = [
    `scale=${width}:${height}:force_original_aspect_ratio=decrease`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`,
  ];
  if (kind === 'video' && opts.fps) filters.unshift(`fps=${opts.fps}`);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    ...(kind === 'v4l2' ? ['-fflags', 'nobuffer'] : []),
    ...input,
    '-i',
    target,
    '-an',
    '-vf',
    filters.join(','),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

export class FfmpegCamera extends CameraSourceBase {
  private readonly width: number;
  private readonly height: number;
  private child: ChildProcess | null = null;
  private childExited: Promise<void> = Promise.resolve();
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly kind: 'v4l2' | 'video',
    private readonly target: string,
    opts: CameraOptions,
  ) {
    const width = opts.width ?? 640;
    const height = opts.height ?? 480;
    super(`${kind} ${target} ${width}x${height}${opts.fps ? ` @${opts.fps} fps` : ''}`, opts);
    this.width = width;
    this.height = height;
  }

  /** The running ffmpeg's pid (tests kill it to simulate an unplug). */
  get childPid(): number | undefined {
    return this.child?.pid;
  }

  protected open(): void {
    void this.spawnFfmpeg();
  }

  protected async close(): Promise<void> {
    this.clearStallTimer();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.childExited;
      clearTimeout(force);
    }
    this.child = null;
  }

  private async spawnFfmpeg(): Promise<void> {
    try {
      await access(this.target, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? `${this.target} not found`
          : code === 'EACCES'
            ? `${this.target}: permission denied (add the service user to the video group)`
            : `${this.target}: ${code ?? 'unreadable'}`;
      this.failed('no-camera', why);
      return;
    }
    if (!this.running) return;
    const child = spawn(this.opts.ffmpegPath ?? 'ffmpeg', ffmpegArgs(this.kind, this.target, this.opts), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.childExited = new Promise((resolve) => child.once('close', () => resolve()));
    const frameBytes = this.width * this.height * 3;
    let pending = new Uint8Array(frameBytes);
    let filled = 0;
    let framesThisSession = 0;
    let stderrTail = '';
    let spawnError: NodeJS.ErrnoException | null = null;
    this.armStallTimer(child);

    child.stdout?.on('data', (chunk: Buffer) => {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        pending.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          const image = { data: pending, width: this.width, height: this.height };
          pending = new Uint8Array(frameBytes);
          filled = 0;
          framesThisSession++;
          if (framesThisSession === 1) this.report('streaming', this.description);
          this.backoff.markHealthy();
          this.armStallTimer(child);
          this.deliver(image);
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.once('close', (code, signal) => {
      if (this.child === child) this.child = null;
      this.clearStallTimer();
      if (!this.running) return;
      if (spawnError) {
        const why =
          spawnError.code === 'ENOENT'
            ? 'ffmpeg not found (install the Debian package ffmpeg)'
            : `cannot run ffmpeg: ${spawnError.message}`;
        this.failed('no-camera', why);
        return;
      }
      const lastLine = stderrTail.trim().split('\n').pop() ?? '';
      if (this.kind === 'video' && this.opts.loop === false && code === 0 && framesThisSession > 0) {
        this.ended(`end of video ${this.target}`);
        return;
      }
      const why = `ffmpeg exited (${signal ?? `code ${code}`})${lastLine ? `: ${lastLine}` : ''}`;
      this.failed(/No such (file|device)/i.test(lastLine) ? 'no-camera' : 'reconnecting', why);
    });
  }

  private failed(state: 'no-camera' | 'reconnecting', why: string): void {
    this.retry(state, why, state === 'no-camera' ? NO_CAMERA_MIN_RETRY_MS : 0);
  }

  /** A USB camera can hang without ffmpeg exiting; no frame for stallTimeoutMs counts as a failure. */
  private armStallTimer(child: ChildProcess): void {
    this.clearStallTimer();
    this.stallTimer = setTimeout(() => {
      this.opts.logger?.warn({ event: 'camera', camera: this.description }, 'camera stalled: restarting ffmpeg');
      child.kill('SIGKILL');
    }, this.opts.stallTimeoutMs ?? 10_000);
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }
}
