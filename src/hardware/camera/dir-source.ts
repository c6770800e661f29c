/**
 * Images from a folder in name order (natural: frame2 before frame10) at the configured rate, looping: for demos,
 * tests and benchmarks. Images are delivered as decoded (no resize). Decoded images are cached up to a memory budget;
 * each frame still gets its own copy of the pixels, because a consumer may transfer the buffer to a worker.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, type RgbImage } from '../../runtime/image.ts';
import { Backoff } from '../../util/backoff.ts';
import { errorMessage } from '../../util/errors.ts';
import type { CameraOptions, CameraSource, CameraStateListener } from './camera.ts';
import type { Frame } from './frame.ts';
import { CameraStateReporter } from './state-reporter.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff']);
const CACHE_BUDGET_BYTES = 64 * 1024 * 1024;

export async function listImages(folder: string): Promise<string[]> {
  const names = await readdir(folder);
  return names
    .filter((name) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => path.join(folder, name));
}

export class DirCamera implements CameraSource {
  readonly description: string;
  private readonly intervalMs: number;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private files: string[] = [];
  private index = 0;
  private seq = 0;
  private readonly cache = new Map<string, RgbImage>();
  private cachedBytes = 0;
  private readonly badFiles = new Set<string>();
  private readonly backoff = new Backoff();
  private tick: Promise<void> = Promise.resolve();
  private onFrame: (frame: Frame) => void = () => {};
  private readonly stateReporter: CameraStateReporter;

  constructor(
    private readonly folder: string,
    private readonly opts: CameraOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 1000 / (opts.fps ?? 10);
    this.description = `dir ${folder} @${(1000 / this.intervalMs).toFixed(1)} fps`;
    this.stateReporter = new CameraStateReporter(this.description, opts.logger);
  }

  start(onFrame: (frame: Frame) => void, onState: CameraStateListener): void {
    if (this.running) return;
    this.running = true;
    this.onFrame = onFrame;
    this.stateReporter.attach(onState);
    this.stateReporter.report('starting', this.description);
    void this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.tick;
  }

  private async open(): Promise<void> {
    try {
      this.files = await listImages(this.folder);
    } catch (err) {
      this.retry(`${this.folder}: ${errorMessage(err)}`);
      return;
    }
    if (this.files.length === 0) {
      this.retry(`${this.folder}: no images (jpg, png, webp)`);
      return;
    }
    this.index = 0;
    this.schedule(Date.now());
  }

  private retry(why: string): void {
    if (!this.running) return;
    const delay = Math.max(this.backoff.nextDelayMs(), 5000);
    this.stateReporter.report('no-camera', `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => void this.open(), delay);
  }

  /** Drift-free pacing: the next frame is due one interval after the previous one was due, not after it finished. */
  private schedule(dueAt: number): void {
    if (!this.running) return;
    this.timer = setTimeout(
      () => {
        this.tick = this.emitNext().then((ok) => {
          if (!ok) return;
          const next = dueAt + this.intervalMs;
          // A slow decode skips frames rather than bursting to catch up.
          this.schedule(Math.max(next, Date.now()));
        });
      },
      Math.max(0, dueAt - Date.now()),
    );
  }

  /** Delivers one frame; false when the source ended or has nothing decodable left. */
  private async emitNext(): Promise<boolean> {
    for (let tries = 0; tries < this.files.length; tries++) {
      if (!this.running) return false;
      if (this.index >= this.files.length) {
        if (this.opts.loop === false) {
          this.running = false;
          this.stateReporter.report('no-camera', `end of folder ${this.folder}`);
          return false;
        }
        this.index = 0;
      }
      const file = this.files[this.index++] as string;
      if (this.badFiles.has(file)) continue;
      const image = await this.load(file);
      if (!image || !this.running) continue;
      const frame: Frame = {
        image: { data: image.data.slice(), width: image.width, height: image.height },
        capturedAt: Date.now(),
        seq: ++this.seq,
      };
      this.stateReporter.report('streaming', this.description);
      try {
        this.onFrame(frame);
      } catch (err) {
        this.opts.logger?.error({ err }, 'camera frame listener threw');
      }
      return true;
    }
    if (this.running) {
      this.retry(`${this.folder}: none of the images could be decoded`);
      this.badFiles.clear();
    }
    return false;
  }

  private async load(file: string): Promise<RgbImage | null> {
    const cached = this.cache.get(file);
    if (cached) return cached;
    try {
      const image = await decodeImage(await readFile(file), file);
      if (this.cachedBytes + image.data.byteLength <= CACHE_BUDGET_BYTES) {
        this.cache.set(file, image);
        this.cachedBytes += image.data.byteLength;
      }
      return image;
    } catch (err) {
      this.badFiles.add(file);
      this.opts.logger?.warn(
        { event: 'camera', file: path.basename(file), error: errorMessage(err) },
        'skipping image',
      );
      return null;
    }
  }
}
