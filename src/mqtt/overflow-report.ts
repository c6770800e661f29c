/**
 * Announces outbox drops: an `outbox-overflow` alarm within a second of the first drop while connected (then at
 * most one a second, with the counts since), or on the next connect. It travels in the outbox's `alert` lane,
 * ahead of everything else. Before, drops were only reported after a reconnect, so a flood while connected erased
 * events without a word, and every drop was its own warn line.
 */
import type { Logger } from 'pino';
import type { DropCounts, Outbox } from './outbox.ts';

export interface OverflowReporterOptions {
  outbox: Outbox;
  logger: Logger;
  /** Journals the alarm in the `alert` lane and returns its event id. */
  raise: (detail: string) => string;
}

export function overflowDetail(counts: DropCounts): string {
  const parts: string[] = [];
  if (counts.event > 0) parts.push(`${counts.event} access events and alarms`);
  if (counts.audit > 0) parts.push(`${counts.audit} refusal summaries`);
  return `outbox full: ${parts.join(' and ')} dropped undelivered (mqtt.outbox.maxEvents / maxAuditEvents)`;
}

export class OverflowReporter {
  private timer: NodeJS.Timeout | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastId: string | null = null;
  private connected = false;

  constructor(private readonly opts: OverflowReporterOptions) {}

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.report();
  }

  /** Called on every drop; the report follows at once, or when the one-a-second spacing allows. */
  schedule(): void {
    if (this.timer || !this.connected) return;
    this.timer = setTimeout(() => this.report(), Math.max(0, this.lastAt + 1000 - Date.now()));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connected = false;
  }

  private report(): void {
    this.timer = null;
    if (!this.connected) return;
    const { outbox } = this.opts;
    // One report pending at a time: the next one, with the counts since, follows once it is delivered.
    if (this.lastId && outbox.has(this.lastId)) {
      this.lastAt = Date.now();
      this.schedule();
      return;
    }
    const counts = outbox.takeDropReport();
    if (!counts) return;
    this.lastAt = Date.now();
    const detail = overflowDetail(counts);
    this.opts.logger.warn({ event: 'mqtt-outbox', dropped: counts }, detail);
    this.lastId = this.opts.raise(detail);
  }
}
