/**
 * sd_notify for `Type=notify` (after zigbee2mqtt's lib/util/sd-notify.ts): READY=1, WATCHDOG=1 every
 * WATCHDOG_USEC/2, STATUS=, STOPPING=1. Node has no unix datagram sockets, so messages go through the
 * `systemd-notify` binary (it waits until systemd has processed each one, so the short-lived sender is still
 * attributed to the service; the unit needs `NotifyAccess=all`). Soft-fails: not under systemd, or no binary,
 * means no notifications and nothing else.
 */
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export interface SdNotifier {
  /** True when NOTIFY_SOCKET is set (running under Type=notify). */
  readonly active: boolean;
  /** Watchdog ping period in ms, or null when systemd asked for none. */
  readonly watchdogIntervalMs: number | null;
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
  /** Stops the watchdog pings. */
  stop(): void;
}

export interface SdNotifyOptions {
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** The systemd-notify binary (tests point this at a fake). */
  command?: string;
}

export function initSdNotify(opts: SdNotifyOptions = {}): SdNotifier {
  const env = opts.env ?? process.env;
  const command = opts.command ?? 'systemd-notify';
  let enabled = Boolean(env.NOTIFY_SOCKET);
  const send = (...messages: string[]) => {
    if (!enabled) return;
    const child = spawn(command, messages, { env: { ...process.env, ...env }, stdio: 'ignore' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      enabled = false;
      opts.logger?.warn(
        { error: err.code ?? err.message },
        'systemd-notify unavailable: no READY/WATCHDOG notifications',
      );
    });
  };
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogIntervalMs = enabled && forUs && watchdogUsec > 0 ? Math.max(1, Math.floor(watchdogUsec / 2000)) : null;
  let timer: NodeJS.Timeout | null = null;
  if (watchdogIntervalMs !== null) {
    timer = setInterval(() => send('WATCHDOG=1'), watchdogIntervalMs);
    timer.unref();
  }
  return {
    active: enabled,
    watchdogIntervalMs,
    ready: (status) => send('READY=1', ...(status ? [`STATUS=${status}`] : [])),
    status: (text) => send(`STATUS=${text}`),
    stopping: () => send('STOPPING=1'),
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
