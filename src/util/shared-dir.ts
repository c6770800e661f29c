import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared test data beside the repository (`../shared`), or FACEGATE_SHARED; used by benchmarks. */
export function defaultSharedDir(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.resolve(process.env.FACEGATE_SHARED ?? path.join(repoRoot, '..', 'shared'));
}
