/**
 * Door relay drivers behind one interface. Logical "unlocked" always means "relay energised": wire the lock so that a
 * de-energised relay keeps the door locked (fail-secure strike) or, for maglocks, through the relay's NC contact.
 * `activeLow` only flips the electrical level for relay boards that switch on a LOW input.
 * Every driver ends a pulse from a relay unit (relay-unit.ts), a process of its own, never from this thread's
 * event loop, and the unit drives the fail state if facegate dies mid-pulse, even by SIGKILL.
 * Types only: the drivers (simulated-relay.ts, gpiod-relay.ts, onoff-relay.ts) import this file; create.ts picks one.
 */

export type RelayState = 'locked' | 'unlocked';

export interface RelayDriver {
  readonly description: string;
  /** Ends leftovers of a previous run on this relay and opens it; drives nothing yet. */
  init(): Promise<void>;
  /**
   * Unlocks now and re-locks after `ms` by the driver's own timer, outside this thread's event loop; a pulse during a
   * pulse restarts it from now. Resolves to the epoch ms at which the previous pulse had re-locked by itself, when it
   * did so since the last call (the caller's view may lag behind while its event loop is busy), else null.
   */
  pulse(ms: number): Promise<number | null>;
  /**
   * Drives `state`, ending any pulse at once — except with `pulseDue` (the caller's own timer says the pulse is due),
   * which first lets a pulse about to end re-lock by itself; resolves like pulse().
   */
  set(state: RelayState, opts?: SetOptions): Promise<number | null>;
  /** Synchronous best effort, for exit paths (signal handlers, uncaught errors, process 'exit'): ends any pulse. */
  setSync(state: RelayState): void;
  /** Lets go of the relay, leaving it as last driven; a pulse still running is ended with the fail state. */
  close(): Promise<void>;
}

export interface SetOptions {
  pulseDue?: boolean;
}
