/**
 * The simulated relay (`simulated`, `simulated:<record file>`), the default: it logs each change and, with a record
 * file, appends one JSON line per change — the file stands in for the hardware in tests, demos and benchmarks.
 */
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RelayDriver, RelayState, SetOptions } from './relay.ts';
import { RelayUnit, SLEEP_UNTIL_DUE, shQuote, UNIT_MARKER, UnitSlot } from './relay-unit.ts';
import { endStaleHolders, unitMatcher } from './stale-holders.ts';

const RECORD_TAIL_BYTES = 256;

/** The state in the last line of a record file, or null. */
function lastRecordedState(file: string): RelayState | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, RECORD_TAIL_BYTES));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const match = /"state":"(locked|unlocked)"\}\s*$/.exec(buf.toString('utf8'));
    return (match?.[1] as RelayState | undefined) ?? null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Logs and, with a record file, appends `{"t":epochMs,"state":...}` per change, synchronously so a crash keeps it.
 * With a file the pulse's re-lock line is written by its unit, like real hardware re-locked by its own timer; without
 * one the relay is purely in memory and re-locks on its own clock.
 */
export class SimulatedRelay implements RelayDriver {
  readonly description: string;
  private current: RelayState | null = null;
  private readonly slot = new UnitSlot();
  private readonly failState: RelayState;
  /** In-memory relay: performance.now() at which the running pulse re-locks. */
  private virtualDueAt: number | null = null;

  constructor(
    private readonly recordFile: string | null,
    private readonly logger?: Logger,
    opts: { failState?: RelayState } = {},
  ) {
    this.description = recordFile ? `simulated relay (recording to ${recordFile})` : 'simulated relay';
    this.failState = opts.failState ?? 'locked';
  }

  private get ids(): string[] {
    return ['simulated', this.recordFile ?? ''];
  }

  async init(): Promise<void> {
    if (this.recordFile) await endStaleHolders(unitMatcher(UNIT_MARKER, this.ids), this.description, this.logger);
  }

  async pulse(ms: number): Promise<number | null> {
    const relockedAt = await this.settle(false);
    this.write('unlocked');
    if (!this.recordFile) {
      this.virtualDueAt = performance.now() + ms;
      return relockedAt;
    }
    const unit = new RelayUnit({
      ids: this.ids,
      pulse: { ms, dueAt: Date.now() + ms, timed: SLEEP_UNTIL_DUE, lock: this.appendCommand('locked') },
      fail: this.appendCommand(this.failState),
    });
    await this.slot.startPulse(unit, {
      driver: 'simulated',
      relock: () => this.setSync('locked'),
      onRelocked: () => {
        this.current = 'locked';
      },
      logger: this.logger,
    });
    return relockedAt;
  }

  async set(state: RelayState, opts: SetOptions = {}): Promise<number | null> {
    const relockedAt = await this.settle(opts.pulseDue ?? false);
    this.write(state);
    return relockedAt;
  }

  setSync(state: RelayState): void {
    this.slot.endSync();
    this.virtualDueAt = null;
    this.write(state);
  }

  get state(): RelayState | null {
    this.settleVirtual();
    return this.current;
  }

  async close(): Promise<void> {
    if (this.slot.unit?.pulsing || this.virtualDueAt !== null) await this.set(this.failState);
  }

  /** Ends the unit and takes its re-lock, if any, as the current state. */
  private async settle(letFinish: boolean): Promise<number | null> {
    const virtual = this.settleVirtual();
    if (!this.slot.unit) return virtual;
    return this.slot.end(letFinish);
  }

  private settleVirtual(): number | null {
    const due = this.virtualDueAt;
    if (due === null || performance.now() < due) return null;
    this.virtualDueAt = null;
    this.current = 'locked';
    return Math.round(performance.timeOrigin + due);
  }

  /** The unit's shell command appending a `state` line stamped with its `$t`. */
  private appendCommand(state: RelayState): string {
    const line = shQuote(`{"t":%s,"state":"${state}"}\\n`);
    return `printf ${line} "$t" >> ${shQuote(this.recordFile ?? '/dev/null')}`;
  }

  private write(state: RelayState): void {
    // The record is the relay: a unit may have re-locked it (or been killed while it wrote) since we last looked.
    if (this.recordFile) this.current = lastRecordedState(this.recordFile);
    if (state === this.current) return;
    this.current = state;
    this.logger?.debug({ relayDriver: 'simulated', state }, 'simulated relay driven');
    if (this.recordFile) appendFileSync(this.recordFile, `${JSON.stringify({ t: Date.now(), state })}\n`);
  }
}
