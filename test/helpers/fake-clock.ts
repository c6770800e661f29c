/** Timers that fire only when the test advances time, in due order. */
import type { Clock } from '../../src/util/clock.ts';

export class FakeClock implements Clock {
  current: number;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.current + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Runs every timer due within `ms`, synchronously. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
      this.current = due.at;
      due.fn();
    }
    this.current = target;
  }

  /** Like `advance`, letting promise callbacks (e.g. an async relay driver) settle after each timer. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
      this.current = due.at;
      due.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.current = target;
    await new Promise((resolve) => setImmediate(resolve));
  }

  private nextDue(target: number): { at: number; fn: () => void; id: number } | undefined {
    const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
    if (due) this.timers = this.timers.filter((t) => t !== due);
    return due;
  }
}
