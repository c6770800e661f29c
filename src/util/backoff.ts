/**
 * Reopen delays for cameras: 0.5 s, 1 s, 2 s ... capped at 30 s, back to 0.5 s once a session has streamed for a
 * stable period (so a camera that flaps once an hour reconnects fast, and one that is gone does not spin the CPU).
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** A session that streamed at least this long resets the delay. */
  stableMs?: number;
  now?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly stableMs: number;
  private readonly now: () => number;
  private failures = 0;
  private healthySince: number | null = null;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.stableMs = opts.stableMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The source is delivering frames again. */
  markHealthy(): void {
    if (this.healthySince === null) this.healthySince = this.now();
  }

  /** The source failed: how long to wait before reopening it. */
  nextDelayMs(): number {
    if (this.healthySince !== null && this.now() - this.healthySince >= this.stableMs) this.failures = 0;
    this.healthySince = null;
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
    this.healthySince = null;
  }
}
