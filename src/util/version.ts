/**
 * facegate's own package directory and version, read once from its package.json. Found by walking up from this file
 * rather than by a fixed relative path, so it keeps working from `src/` (tsx), the build output `dist/src/` and a
 * global npm install alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | null | undefined;

function findPackage(): { root: string; version: string } | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'facegate' && typeof pkg.version === 'string') {
        cached = { root: dir, version: pkg.version };
        break;
      }
    } catch {
      // No (readable) package.json here: keep going up.
    }
    if (path.dirname(dir) === dir) break;
  }
  return cached;
}

/** The `version` of the nearest package.json named `facegate` above this file; `unknown` if there is none. */
export function facegateVersion(): string {
  return findPackage()?.version ?? 'unknown';
}

/** The directory of that package.json (the repository or installed package); two levels up from util/ otherwise. */
export function facegateRoot(): string {
  return findPackage()?.root ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}
