/**
 * facegate's own version, read once from its package.json. Found by walking up from this file rather than by a fixed
 * relative path, so it keeps working from `src/` (tsx), a build output directory and a global npm install alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/** The `version` of the nearest package.json named `facegate` above this file; `unknown` if there is none. */
export function facegateVersion(): string {
  if (cached !== null) return cached;
  cached = 'unknown';
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'facegate' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // No (readable) package.json here: keep going up.
    }
    if (path.dirname(dir) === dir) break;
  }
  return cached;
}
