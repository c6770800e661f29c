/**
 * An error meant for the person at the terminal or the admin reading the log: its message is one clear line,
 * and the CLI prints it without a stack trace and exits with `exitCode`.
 */
export class FacegateError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'FacegateError';
    this.exitCode = exitCode;
  }
}

/**
 * Exit codes shared by every command: 0 match/found/ok, 1 no match/not found, 2 error, 78 bad configuration.
 * The daemon: 1 when a second signal cut the shutdown short or the shutdown failed (the relay was driven to its fail
 * state first either way), 2 after an uncaught error, 128+n after signal n (lifecycle.ts `signalExitCode`).
 */
export const ExitCode = { ok: 0, noMatch: 1, shutdownCut: 1, error: 2, config: 78 } as const;

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err).split('\n')[0] ?? '';
}
