/**
 * The door monitor: combines the door contact with the relay state into `doorState` events and raises the two
 * alarms a guard cares about: held open too long, and opened without an unlock (forced). A request-to-exit button
 * asks for an unlock (`unlockRequest` by `rex`) and excuses the opening that follows. The contacts themselves are
 * hardware drivers (src/hardware/contact/); this is the policy. Inside a scheduled-unlock hold (`doorHold`) the door
 * may stand open: no held-open alarm then; the held-open timer starts when the hold ends.
 */
import type { Logger } from 'pino';
import type { DoorState, EventBus } from '../bus/event-bus.ts';
import type { DoorContactSource } from '../hardware/contact/contact.ts';
import { type Clock, systemClock } from '../util/clock.ts';

export interface DoorMonitorOptions {
  contact: DoorContactSource;
  bus: EventBus;
  /** Open longer than this raises `door-held-open` (default 30 s). */
  heldOpenMs?: number;
  /** Opening this soon after the relay re-locked (or a REX press) is not forced (default 2 s). */
  forcedGraceMs?: number;
  /** Request-to-exit button: a press emits `unlockRequest` {by: 'rex'}. */
  rex?: DoorContactSource;
  clock?: Clock;
  logger?: Logger;
}

export class DoorMonitor {
  private readonly clock: Clock;
  private readonly heldOpenMs: number;
  private readonly forcedGraceMs: number;
  private relayState: 'locked' | 'unlocked' = 'locked';
  /** Last moment the door was allowed to open: relay unlocked, just re-locked, or REX pressed. */
  private lastAllowedAt = Number.NEGATIVE_INFINITY;
  private open: boolean | null = null;
  private state: DoorState | null = null;
  private heldTimer: unknown = null;
  private holding = false;
  private unsubscribe: (() => void) | null = null;
  private offHold: (() => void) | null = null;

  constructor(private readonly opts: DoorMonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.heldOpenMs = opts.heldOpenMs ?? 30_000;
    this.forcedGraceMs = opts.forcedGraceMs ?? 2000;
  }

  get doorState(): DoorState | null {
    return this.state;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.opts.bus.on('relay', ({ state }) => {
      this.relayState = state;
      this.lastAllowedAt = this.clock.now();
      if (this.open === false) this.setState(state);
    });
    this.offHold = this.opts.bus.on('doorHold', ({ active }) => this.onHold(active), 'door-monitor');
    this.opts.contact.start((open) => this.onContact(open));
    this.opts.rex?.start((pressed) => {
      if (!pressed) return;
      this.lastAllowedAt = this.clock.now();
      this.opts.logger?.info({ event: 'rex' }, 'request-to-exit pressed');
      this.opts.bus.emit('unlockRequest', { by: 'rex', reason: 'request-to-exit' });
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.offHold?.();
    this.offHold = null;
    this.clearHeldTimer();
    await this.opts.contact.stop();
    await this.opts.rex?.stop();
  }

  private onContact(open: boolean): void {
    const initial = this.open === null;
    if (open === this.open) return;
    this.open = open;
    if (!open) {
      this.clearHeldTimer();
      this.setState(this.relayState);
      return;
    }
    const allowed =
      this.holding || this.relayState === 'unlocked' || this.clock.now() - this.lastAllowedAt <= this.forcedGraceMs;
    if (!allowed && !initial) {
      this.setState('forced-open');
      this.alarm('door-forced-open', 'door opened while locked, without an unlock');
    } else {
      this.setState('open');
    }
    this.startHeldTimer();
  }

  private onHold(active: boolean): void {
    this.holding = active;
    if (active) {
      this.clearHeldTimer();
      if (this.open) this.setState('open');
    } else if (this.open) {
      this.startHeldTimer();
    }
  }

  private startHeldTimer(): void {
    this.clearHeldTimer();
    if (this.holding) return;
    this.heldTimer = this.clock.setTimeout(() => {
      this.heldTimer = null;
      this.setState('held-open');
      this.alarm('door-held-open', `door open longer than ${Math.round(this.heldOpenMs / 1000)} s`);
    }, this.heldOpenMs);
  }

  private setState(state: DoorState): void {
    if (state === this.state) return;
    this.state = state;
    this.opts.bus.emit('doorState', { state, time: new Date(this.clock.now()).toISOString() });
  }

  private alarm(kind: 'door-held-open' | 'door-forced-open', detail: string): void {
    this.opts.bus.alarm(kind, detail, { time: this.clock.now() });
  }

  private clearHeldTimer(): void {
    if (this.heldTimer !== null) this.clock.clearTimeout(this.heldTimer);
    this.heldTimer = null;
  }
}
