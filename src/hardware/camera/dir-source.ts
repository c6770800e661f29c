/**
 * Images from a folder in name order (natural: frame2 before frame10) at the configured rate, looping: for demos,
 * tests and benchmarks. Images are delivered as decoded (no resize). Decoded images are cached up to a memory budget;
 * each frame still gets its own copy of the pixels, because a consumer may transfer the buffer to a worker.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, type RgbImage } from '../../runtime/image.ts';
import { errorMessage } from '../../util/errors.ts';
import type { CameraOptions } from './camera.ts';
import { CameraSourceBase } from './source-base.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff']);
const CACHE_BUDGET_BYTES = 64 * 1024 * 1024;
/** A folder without images is looked at again no faster than this. */
const NO_IMAGES_RETRY_MS = 5000;

export async function listImages(folder: string): Promise<string[]> {
  const names = await readdir(folder);
  return names
    .filter((name) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => path.join(folder, name));
}

export class DirCamera extends CameraSourceBase {
  private readonly intervalMs: number;
  private files: string[] = [];
  private index = 0;
  private readonly cache = new Map<string, RgbImage>();
  private cachedBytes = 0;
  private readonly badFiles = new Set<string>();
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly folder: string,
    opts: CameraOptions,
  ) {
    const intervalMs = opts.intervalMs ?? 1000 / (opts.fps ?? 10);
    super(`dir ${folder} @${(1000 / intervalMs).toFixed(1)} fps`, opts);
    this.intervalMs = intervalMs;
  }

  protected open(): void {
    void this.scan();
  }

  protected async close(): Promise<void> {
    await this.tick;
  }

  private async scan(): Promise<void> {
    try {
      this.files = await listImages(this.folder);
    } catch (err) {
      this.retry('no-camera', `${this.folder}: ${errorMessage(err)}`, NO_IMAGES_RETRY_MS);
      return;
    }
    if (this.files.length === 0) {
      this.retry('no-camera', `${this.folder}: no images (jpg, png, webp)`, NO_IMAGES_RETRY_MS);
      return;
    }
    this.index = 0;
    this.schedule(Date.now());
  }

  /** Drift-free pacing: the next frame is due one interval after the previous one was due, not after it finished. */
  private schedule(dueAt: number): void {
    this.later(Math.max(0, dueAt - Date.now()), () => {
      this.tick = this.emitNext().then((ok) => {
        if (!ok || !this.running) return;
        const next = dueAt + this.intervalMs;
        // A slow decode skips frames rather than bursting to catch up.
        this.schedule(Math.max(next, Date.now()));
      });
    });
  }

  /** Delivers one frame; false when the source ended or has nothing decodable left. */
  private async emitNext(): Promise<boolean> {
    for (let tries = 0; tries < this.files.length; tries++) {
      if (!this.running) return false;
      if (this.index >= this.files.length) {
        if (this.opts.loop === false) {
          this.ended(`end of folder ${this.folder}`);
          return false;
        }
        this.index = 0;
      }
      const file = this.files[this.index++] as string;
      if (this.badFiles.has(file)) continue;
      const image = await this.load(file);
      if (!image || !this.running) continue;
      this.report('streaming', this.description);
      this.deliver({ data: image.data.slice(), width: image.width, height: image.height });
      return true;
    }
    if (this.running) {
      this.retry('no-camera', `${this.folder}: none of the images could be decoded`, NO_IMAGES_RETRY_MS);
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
