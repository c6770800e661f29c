/** Where the shared test data and weights live for benchmarks: `../shared` beside the repository, or FACEGATE_SHARED. */
import path from 'node:path';
import { facegateRoot } from './version.ts';

/** The shared test data beside the repository (`../shared`), or FACEGATE_SHARED; found from `src/` and `dist/`. */
export function defaultSharedDir(): string {
  return path.resolve(process.env.FACEGATE_SHARED ?? path.join(facegateRoot(), '..', 'shared'));
}
