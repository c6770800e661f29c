/**
 * Preload (`node --import ./test/helpers/load-log.mjs ...`) that records every module the process loads, for tests
 * that check a command does not load what it does not use. Plain JavaScript so it runs without tsx in front of the
 * built CLI. ES modules are recorded by a load hook (it runs on the loader thread and appends to the file named by
 * FACEGATE_LOAD_LOG); CommonJS modules (tfjs and sharp are CommonJS) are the keys of require.cache at exit.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.FACEGATE_LOAD_LOG;

/** The load hook (this same file, loaded again on the loader thread). */
export async function load(url, context, nextLoad) {
  if (log) appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}

if (log && !process.env.FACEGATE_LOAD_LOG_HOOKED) {
  process.env.FACEGATE_LOAD_LOG_HOOKED = '1';
  register(import.meta.url);
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    appendFileSync(log, `${Object.keys(require.cache).join('\n')}\n`);
  });
}
