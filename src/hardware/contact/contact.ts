/**
 * The door's own sensors: a contact (reed switch) that says open/closed and an optional request-to-exit button.
 * DoorMonitor combines the contact with the relay state into `doorState` events and raises the two alarms a guard
 * cares about: held open too long, and opened without an unlock (forced).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { DoorState, EventBus } from '../../bus/event-bus.ts';
import { type Clock, systemClock } from '../../door/door-lock.ts';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';
import { detectGpiodVersion, type GpiodCliVersion } from '../relay/gpiod-relay.ts';

/** A binary input: the door contact (true = open) or a request-to-exit button (true = pressed). */
export interface DoorContactSource {
  readonly description: string;
  /** Reports the current value once at start, then every change. */
  start(onChange: (active: boolean) => void): void;
  stop(): Promise<void>;
}

export interface ContactOptions {
  /** The input reads LOW when the door is open / the button pressed. */
  activeLow?: boolean;
  /** gpiod: enable the SoC pull-up (a reed switch to ground needs one). */
  pullUp?: boolean;
  logger?: Logger;
  /** The gpiod tools (tests point these at fakes). */
  gpiomonCommand?: string;
  gpiogetCommand?: string;
}

/** Driven by code (tests, demos, the MQTT simulator): `set(true)` opens the door. */
export class SimulatedContact implements DoorContactSource {
  readonly description = 'simulated contact';
  private listener: ((active: boolean) => void) | null = null;
  constructor(private value = false) {}
  start(onChange: (active: boolean) => void): void {
    this.listener = onChange;
    onChange(this.value);
  }
  set(active: boolean): void {
    if (active === this.value) return;
    this.value = active;
    this.listener?.(active);
  }
  async stop(): Promise<void> {
    this.listener = null;
  }
}

interface OnoffInput {
  readSync(): 0 | 1;
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

/** sysfs GPIO edge interrupts through `onoff`, debounced (reed switches bounce). */
export class OnoffContact implements DoorContactSource {
  readonly description: string;
  private gpio: OnoffInput | null = null;
  private stopped = false;
  constructor(
    private readonly gpioNumber: number,
    private readonly opts: ContactOptions,
  ) {
    this.description = `onoff GPIO ${gpioNumber} input`;
  }
  start(onChange: (active: boolean) => void): void {
    this.stopped = false;
    import('onoff')
      .then((mod) => {
        if (this.stopped) return;
        const Gpio = (mod as unknown as { Gpio: new (...args: unknown[]) => OnoffInput }).Gpio;
        const gpio = new Gpio(this.gpioNumber, 'in', 'both', {
          debounceTimeout: 20,
          activeLow: this.opts.activeLow ?? false,
        });
        this.gpio = gpio;
        onChange(gpio.readSync() === 1);
        gpio.watch((err, value) => {
          if (err) this.opts.logger?.warn({ event: 'door-contact', error: errorMessage(err) }, 'GPIO input error');
          else onChange(value === 1);
        });
      })
      .catch((err: unknown) => {
        this.opts.logger?.error(
          { event: 'door-contact', error: errorMessage(err) },
          `${this.description} unavailable: use gpiod:<chip>:<line>`,
        );
      });
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.gpio?.unwatchAll();
    this.gpio?.unexport();
    this.gpio = null;
  }
}

/** `gpioget` for the initial value, then `gpiomon` printing one edge per line; restarted if it dies. */
export class GpiodContact implements DoorContactSource {
  readonly description: string;
  private child: ChildProcess | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  constructor(
    private readonly chip: string,
    private readonly line: number,
    private readonly opts: ContactOptions,
  ) {
    this.description = `gpiod ${chip} line ${line} input`;
  }

  start(onChange: (active: boolean) => void): void {
    this.stopped = false;
    let version: GpiodCliVersion;
    try {
      version = detectGpiodVersion(this.opts.gpiomonCommand ?? 'gpiomon');
    } catch (err) {
      this.opts.logger?.error({ event: 'door-contact', error: errorMessage(err) }, 'door contact unavailable');
      return;
    }
    const low = this.opts.activeLow ? ['--active-low'] : [];
    const bias = this.opts.pullUp ? ['--bias=pull-up'] : [];
    const chipArgs = version === 1 ? [this.chip, String(this.line)] : ['-c', this.chip, String(this.line)];
    const initial = spawnSync(this.opts.gpiogetCommand ?? 'gpioget', [...low, ...bias, ...chipArgs], {
      encoding: 'utf8',
      timeout: 5000,
    });
    // v1 prints `1`; v2 prints `"17"=active`.
    if (initial.status === 0) onChange(/^1\b|=active/.test(initial.stdout.trim()));
    const args =
      version === 1 ? ['-b', '-F', '%e', ...low, ...bias, ...chipArgs] : ['-F', '%e', ...low, ...bias, ...chipArgs];
    const child = spawn(this.opts.gpiomonCommand ?? 'gpiomon', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (edge) => {
      // %e: 1 = rising (active); falling is 0 in v1 and 2 in v2.
      const value = edge.trim();
      if (value === '1') onChange(true);
      else if (value === '0' || value === '2') onChange(false);
    });
    child.on('error', () => {});
    child.on('exit', (code) => {
      if (this.stopped || this.child !== child) return;
      this.opts.logger?.warn({ event: 'door-contact', code }, 'gpiomon exited: restarting in 5 s');
      this.retryTimer = setTimeout(() => this.start(onChange), 5000);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}

export function createDoorContact(spec: string, opts: ContactOptions = {}): DoorContactSource {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  if (kind === 'simulated' && !arg) return new SimulatedContact();
  if (kind === 'onoff' && /^\d+$/.test(arg)) return new OnoffContact(Number(arg), opts);
  const m = /^([^:]+):(\d+)$/.exec(arg);
  if (kind === 'gpiod' && m?.[1] && m[2]) return new GpiodContact(m[1], Number(m[2]), opts);
  throw new FacegateError(
    `door contact "${spec}": expected simulated | onoff:<gpio> | gpiod:<chip>:<line>`,
    ExitCode.config,
  );
}

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
  private unsubscribe: (() => void) | null = null;

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
    const allowed = this.relayState === 'unlocked' || this.clock.now() - this.lastAllowedAt <= this.forcedGraceMs;
    if (!allowed && !initial) {
      this.setState('forced-open');
      this.alarm('door-forced-open', 'door opened while locked, without an unlock');
    } else {
      this.setState('open');
    }
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
