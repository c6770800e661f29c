/**
 * Bounds on what a flood of hostile input can make the MQTT module do: audit log lines per minute, refusal alarms
 * folded into one summary per window, and error results per second. 20 000 unsigned commands once became 20 000
 * journaled alarms, 20 000 warn lines and 20 000 results; now they are a handful of each.
 */
import type { Logger } from 'pino';

/** At most `perMinute` audit lines a minute, so a flood of junk cannot flood the journal instead. */
export function auditLimiter(logger: Logger, perMinute = 30) {
  let windowStart = 0;
  let count = 0;
  let suppressed = 0;
  return (fields: Record<string, unknown>, msg: string) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      if (suppressed > 0) logger.warn({ event: 'mqtt-audit', suppressed }, 'audit lines suppressed in the last minute');
      windowStart = now;
      count = 0;
      suppressed = 0;
    }
    if (count < perMinute) {
      count += 1;
      logger.warn({ event: 'mqtt-audit', ...fields }, msg);
    } else suppressed += 1;
  };
}

/**
 * The first occurrence after a quiet window is reported in full by the caller (`add` returns true); the rest are
 * counted per key and handed to `summary` once per window. Keys beyond `maxKeys` are counted as `other`, so
 * attacker-chosen text cannot grow the map.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | null = null;
  private counts = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly windowMs: number,
    private readonly summary: (total: number, counts: ReadonlyMap<string, number>) => void,
    private readonly maxKeys = 8,
  ) {}

  add(key: string): boolean {
    if (this.timer === null) {
      this.arm();
      return true;
    }
    this.total += 1;
    const k = this.counts.has(key) || this.counts.size < this.maxKeys ? key : 'other';
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    return false;
  }

  /** Reports what is still counted and stops the timer. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.emit();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      // A window with nothing after the first occurrence closes quietly; otherwise the next one opens.
      if (this.emit()) this.arm();
    }, this.windowMs);
    this.timer.unref();
  }

  private emit(): boolean {
    if (this.total === 0) return false;
    const { total, counts } = this;
    this.total = 0;
    this.counts = new Map();
    this.summary(total, counts);
    return true;
  }
}

/** `text (n), text (m)` for a summary line, largest first. */
export function describeCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} (${n})`)
    .join(', ');
}

/** A token bucket: `perSecond` tokens a second, holding at most `perSecond`. */
export class RateLimit {
  private tokens: number;
  private last: number;
  suppressed = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.suppressed += 1;
    return false;
  }
}
