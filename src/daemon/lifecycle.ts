/**
 * Every way out of the process leaves the door in its fail state (locked unless configured fail-safe):
 * - a terminating signal drives the relay synchronously first, then hands over to a graceful shutdown; a second
 *   signal while shutting down drives again and exits at once. SIGTERM/SIGINT exit 0 (a requested stop); every
 *   other terminating signal exits 128+n so systemd's Restart=on-failure brings the kiosk back;
 * - SIGHUP (terminal closed, ssh dropped, `systemctl reload`) is a reload: it calls `onReload` and never touches the
 *   relay (a running pulse still ends on its unit's timer);
 * - an uncaught exception or unhandled rejection drives the relay and exits 2; process 'exit' drives it again.
 * Not handled: SIGKILL and SIGSTOP (impossible), SIGSEGV/SIGBUS/SIGFPE/SIGILL (no JavaScript can run safely there),
 * SIGPROF (the CPU profiler's), SIGPIPE/SIGXFSZ (Node ignores them). A running pulse's unit still drives the fail
 * state when the process dies of any of these.
 */
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { RelayState } from '../hardware/relay/relay.ts';
import { ExitCode, errorMessage } from '../util/errors.ts';

/** The parts of `process` the exit guards use (a fake in tests). */
export interface GuardedProcess {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  exit(code?: number): never | undefined;
}

export interface ExitGuardOptions {
  /**
   * Called once after the relay was driven to its exit state on a terminating signal; finishes shutdown (flush,
   * stop modules) and exits with `signalExitCode(signal)`. Without it the guard stops the lock and exits itself.
   */
  onSignal?: (signal: NodeJS.Signals) => void | Promise<void>;
  /** SIGHUP: reload what can change under a running daemon (the database). Never drives the relay. */
  onReload?: () => void | Promise<void>;
}

/** What the guards need of the door lock. */
export interface GuardedLock {
  readonly failState: RelayState;
  /** Ends any pulse, drives the fail state synchronously and refuses pulses from now on. */
  failNowSync(): void;
  stop(): Promise<void>;
}

export const RELOAD_SIGNAL = 'SIGHUP';

/**
 * Signals whose default action ends a Node process and that JavaScript can handle. SIGUSR1 would open Node's
 * inspector instead: a kiosk daemon takes it as a stop like the others.
 */
const TERMINATING_SIGNALS: NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
  'SIGABRT',
  'SIGTRAP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGXCPU',
  'SIGSYS',
  'SIGSTKFLT',
  'SIGIO',
  'SIGPWR',
];

/** The terminating signals this platform has. */
export function terminatingSignals(): NodeJS.Signals[] {
  const known = constants.signals as Partial<Record<string, number>>;
  return TERMINATING_SIGNALS.filter((signal) => known[signal] !== undefined);
}

/** 0 for a requested stop (SIGTERM, SIGINT), 128+n for any other signal, as a shell reports it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  if (signal === 'SIGTERM' || signal === 'SIGINT') return ExitCode.ok;
  return 128 + ((constants.signals as Partial<Record<string, number>>)[signal] ?? 0);
}

/** Installs the guards; returns a function that removes them. */
export function installExitGuards(
  lock: GuardedLock,
  proc: GuardedProcess,
  opts: ExitGuardOptions = {},
  logger?: Logger,
): () => void {
  let shuttingDown = false;
  const failNow = () => {
    try {
      lock.failNowSync();
    } catch (err) {
      logger?.error({ event: 'relay', error: errorMessage(err) }, 'could not drive the relay on exit');
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    failNow();
    if (shuttingDown) {
      logger?.warn({ signal }, 'second signal during shutdown: exiting now');
      proc.exit(ExitCode.shutdownCut);
      return;
    }
    shuttingDown = true;
    logger?.info({ signal, state: lock.failState }, 'signal received: relay driven, shutting down');
    const finish = opts.onSignal
      ? Promise.resolve().then(() => opts.onSignal?.(signal))
      : lock.stop().then(() => proc.exit(signalExitCode(signal)));
    finish.catch((err: unknown) => {
      logger?.error({ error: errorMessage(err) }, 'shutdown failed');
      failNow();
      proc.exit(ExitCode.shutdownCut);
    });
  };
  const onReload = () => {
    if (shuttingDown) return;
    logger?.info({ signal: RELOAD_SIGNAL }, 'SIGHUP: reloading (the relay is left as it is)');
    Promise.resolve()
      .then(() => opts.onReload?.())
      .catch((err: unknown) => logger?.error({ event: 'reload-error', error: errorMessage(err) }, 'reload failed'));
  };
  const onFatal = (err: unknown) => {
    failNow();
    logger?.fatal(
      { event: 'crash', error: errorMessage(err), state: lock.failState },
      'uncaught error: relay driven to its fail state, exiting',
    );
    proc.exit(ExitCode.error);
  };
  const onExit = () => failNow();
  const listeners: Array<[string, (...args: never[]) => void]> = [
    ...terminatingSignals().map((signal): [string, () => void] => [signal, () => onSignal(signal)]),
    [RELOAD_SIGNAL, onReload],
    ['uncaughtException', onFatal],
    ['unhandledRejection', onFatal],
    ['exit', onExit],
  ];
  for (const [event, listener] of listeners) proc.on(event, listener);
  return () => {
    for (const [event, listener] of listeners) proc.off(event, listener);
  };
}
