/**
 * Scheduled unlock (issue 14, `door.scheduledUnlock`): the relay is held unlocked while a schedule is open (office
 * hours, a shop door), optionally only after the first person granted in each opening (`firstPersonIn`: nobody has
 * arrived yet, the door stays locked). The door flow keeps deciding and logging everyone as before; the hold is a
 * `doorHold` event that the door lock follows (door-lock.ts) and the door monitor reads to suppress its alarms only
 * inside the hold.
 *
 * Fail secure: the hold ends (locked) when the schedule closes, when the rules change so it is no longer open (or
 * the schedule is removed or broken), and when this module stops (daemon stop, reload); a signal or crash drives
 * the door lock's fail state whatever the hold (src/daemon/lifecycle.ts). The state is re-checked at the
 * schedule's next transition and at least every RECHECK_MS, so a clock step or a missed timer costs at most that.
 */
import type { Logger } from 'pino';
import { compileRules } from '../access/rules.ts';
import { explainAt, nextTransition } from '../access/schedule.ts';
import type { EventBus } from '../bus/event-bus.ts';
import type { DaemonModule, Feature } from '../bus/module.ts';
import type { DoorConfig } from '../config/sections/door.ts';
import type { FaceDb } from '../store/face-db.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';

/** Longest wait between checks: a wall-clock step (NTP at boot) is noticed within a minute. */
export const RECHECK_MS = 60_000;
/** Access reasons that are a person let in (not a remote unlock or an exit button). */
const PERSON_GRANTS = new Set(['match', 'badge']);

export interface ScheduledUnlockOptions {
  bus: EventBus;
  db: Pick<FaceDb, 'rules' | 'onRulesChange'>;
  settings: Pick<DoorConfig, 'timeZone' | 'scheduledUnlock'>;
  logger: Logger;
  clock?: Clock;
}

export class ScheduledUnlock implements DaemonModule {
  readonly name = 'scheduled-unlock';
  private readonly clock: Clock;
  private holding = false;
  /** firstPersonIn: a person was granted during the current opening. */
  private arrived = false;
  private timer: unknown = null;
  private offs: Array<() => void> = [];
  private lastProblem = '';

  constructor(private readonly opts: ScheduledUnlockOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  get holdActive(): boolean {
    return this.holding;
  }

  async start(): Promise<void> {
    this.offs = [
      this.opts.bus.on('access', ({ decision, reason }) => this.onAccess(decision, reason), this.name),
      this.opts.db.onRulesChange(() => this.evaluate('rules-changed')),
    ];
    this.evaluate('start');
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    this.offs = [];
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.setHold(false, 'stop');
  }

  private onAccess(decision: string, reason: string): void {
    if (decision !== 'granted' || !PERSON_GRANTS.has(reason) || this.holding) return;
    this.arrived = true;
    this.evaluate('first-person-in');
  }

  /** Whether the schedule is open now, and when to look again. A missing or broken schedule is closed. */
  private state(now: number): { open: boolean; next: number } {
    const name = this.opts.settings.scheduledUnlock.schedule;
    const fallback = { open: false, next: now + RECHECK_MS };
    if (name === null) return fallback;
    try {
      const rules = compileRules(this.opts.db.rules());
      const schedule = rules.schedules.get(name);
      if (!schedule) {
        this.problem(`scheduled unlock: schedule "${name}" is unknown; the door stays locked`);
        return fallback;
      }
      const { timeZone } = this.opts.settings;
      const state = explainAt(schedule, now, timeZone, rules.holidays);
      if (state.problem) this.problem(`scheduled unlock: schedule "${name}": ${state.problem}`);
      const next = nextTransition(schedule, now, timeZone, rules.holidays)?.at ?? Number.POSITIVE_INFINITY;
      return { open: state.open, next: Math.min(next, now + RECHECK_MS) };
    } catch (err) {
      this.problem(`scheduled unlock: ${errorMessage(err)}; the door stays locked`);
      return fallback;
    }
  }

  private evaluate(why: string): void {
    const now = this.clock.now();
    const { open, next } = this.state(now);
    if (!open) this.arrived = false;
    const hold = open && (!this.opts.settings.scheduledUnlock.firstPersonIn || this.arrived);
    this.setHold(hold, open ? why : why === 'rules-changed' ? why : 'schedule-closed');
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.evaluate('transition');
      },
      Math.max(1, next - now),
    );
  }

  private setHold(active: boolean, reason: string): void {
    if (active === this.holding) return;
    this.holding = active;
    const schedule = this.opts.settings.scheduledUnlock.schedule;
    this.opts.logger.info(
      { event: 'door-hold', active, schedule, reason },
      active ? `door held unlocked by schedule "${schedule}" (${reason})` : `door hold ended (${reason})`,
    );
    this.opts.bus.emit('doorHold', { active, schedule, reason, time: new Date(this.clock.now()).toISOString() });
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.opts.logger.warn({ event: 'door-hold-problem' }, message);
  }
}

/** The daemon's factory: null when no schedule is configured. */
export function scheduledUnlockModule(
  ctx: { bus: EventBus; db: FaceDb; logger: Logger },
  door: Pick<DoorConfig, 'timeZone' | 'scheduledUnlock'>,
): ScheduledUnlock {
  return new ScheduledUnlock({ bus: ctx.bus, db: ctx.db, settings: door, logger: ctx.logger });
}

/** The scheduled-unlock feature for compose's list: on when `door.scheduledUnlock.schedule` names a schedule. */
export const scheduledUnlockFeature: Feature = {
  name: 'scheduled-unlock',
  enabled: (config) => config.door.scheduledUnlock.schedule !== null,
  create: (ctx, config) => scheduledUnlockModule(ctx, config.door),
};
