/**
 * What every camera source shares: start/stop, the one frame listener (which must never be able to break the
 * source), the retry timer with backoff, and state reports sent once each — a source retrying every few seconds
 * would otherwise repeat the same state forever. Subclasses only open their device and deliver images.
 */
import type { Logger } from 'pino';
import type { RgbImage } from '../../runtime/image.ts';
import { Backoff } from '../../util/backoff.ts';
import type { CameraOptions, CameraSource, CameraState, CameraStateListener } from './camera.ts';
import type { Frame } from './frame.ts';

export abstract class CameraSourceBase implements CameraSource {
  readonly description: string;
  protected running = false;
  protected readonly backoff = new Backoff();
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private onFrame: (frame: Frame) => void = () => {};
  private onState: CameraStateListener = () => {};
  private lastState = '';
  private readonly logger?: Logger;

  constructor(
    description: string,
    protected readonly opts: CameraOptions,
  ) {
    this.description = description;
    this.logger = opts.logger;
  }

  start(onFrame: (frame: Frame) => void, onState: CameraStateListener): void {
    if (this.running) return;
    this.running = true;
    this.onFrame = onFrame;
    this.onState = onState;
    this.lastState = '';
    this.report('starting', this.description);
    this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer();
    await this.close();
  }

  /** Opens the device (start, and every retry); failures go to retry(), never out. */
  protected abstract open(): void;

  /** Releases what open() took; the timer is already cleared. */
  protected abstract close(): Promise<void>;

  /** A state change, reported once (to the log and the listener). */
  protected report(state: CameraState, detail?: string): void {
    const key = `${state}|${detail ?? ''}`;
    if (key === this.lastState) return;
    this.lastState = key;
    this.logger?.info({ event: 'camera', state, detail, camera: this.description }, `camera ${state}`);
    try {
      this.onState(state, detail);
    } catch (err) {
      this.logger?.error({ err }, 'camera state listener threw');
    }
  }

  /** Hands one image on as the next frame, timestamped now unless given. */
  protected deliver(image: RgbImage, capturedAt = Date.now()): void {
    const frame: Frame = { image, capturedAt, seq: ++this.seq };
    try {
      this.onFrame(frame);
    } catch (err) {
      this.logger?.error({ err }, 'camera frame listener threw');
    }
  }

  /** Runs `fn` after `delayMs` unless stopped meanwhile (one timer per source). */
  protected later(delayMs: number, fn: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) fn();
    }, delayMs);
  }

  /** The device failed: report why and reopen after the backoff delay (at least `minDelayMs`). */
  protected retry(state: 'no-camera' | 'reconnecting', why: string, minDelayMs = 0): void {
    if (!this.running) return;
    const delay = Math.max(this.backoff.nextDelayMs(), minDelayMs);
    this.report(state, `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.later(delay, () => this.open());
  }

  /** The source reached its end (no looping): it stops by itself. */
  protected ended(detail: string): void {
    this.running = false;
    this.report('no-camera', detail);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
