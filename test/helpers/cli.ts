/**
 * Runs `bin/facegate.js` as a user would (the compiled `dist/`, which `npm test` builds first in `pretest`; run
 * `npm run build` before running a single test file by hand), and returns its exit code and output instead of
 * throwing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './shared.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function facegate(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'bin', 'facegate.js'), ...args],
      { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, timeout: 180_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The lines of stderr that the CLI wrote as its own one-line errors. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('facegate:'));
}
