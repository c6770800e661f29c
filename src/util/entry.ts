/**
 * Where a worker thread or child process starts: the sibling module with the running module's own extension.
 *
 * The package runs compiled JavaScript from `dist/` (no TypeScript compiler at run time), so there a worker entry is
 * `worker.js`. The unit tests run the sources under `node --import tsx`, and there it is `worker.ts`: worker threads
 * inherit `--import tsx` through execArgv, but tsx (4.23) hooks worker threads only on Node >= 22.22.3 / 24.11.1;
 * on Node 20 it hooks the main thread alone. A `.ts` worker therefore registers tsx itself first (on newer Node the
 * second registration is harmless; checked on 20.20 and 24.21). That branch only ever runs from the sources, so the
 * build never touches tsx, which is a dev dependency.
 */
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `name` (a path relative to the module at `moduleUrl`; pass `import.meta.url`) with that module's extension: .js
 * from the build, .ts from the sources.
 */
export function siblingEntry(moduleUrl: string, name: string): URL {
  const ext = path.extname(new URL(moduleUrl).pathname);
  return new URL(`./${name}${ext}`, moduleUrl);
}

function isSource(entry: URL): boolean {
  return entry.pathname.endsWith('.ts');
}

/** A worker thread running `entry` (from `siblingEntry`). */
export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!isSource(entry)) return new Worker(entry, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}

/** The Node flags a child process needs to load `entry`: tsx for a source file, none for the build. */
export function tsxArgv(entry: URL): string[] {
  return isSource(entry) ? ['--import', 'tsx'] : [];
}

/** A Node child process running `entry` (from `siblingEntry`), with tsx when `entry` is a source file. */
export function forkEntry(entry: URL, args: string[], options: ForkOptions = {}): ChildProcess {
  return fork(entry, args, { ...options, execArgv: [...tsxArgv(entry), ...(options.execArgv ?? [])] });
}
