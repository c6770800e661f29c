/**
 * Where the shared test data and weights live (`../shared` beside the repository, or FACEGATE_SHARED).
 * Tests that need it pass `skipUnlessShared` to node:test so a clone without it reports why it skipped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = path.resolve(process.env.FACEGATE_SHARED ?? path.join(repoRoot, '..', 'shared'));
export const hasShared = existsSync(path.join(sharedDir, 'README.md'));

export function sharedPath(...parts: string[]): string {
  return path.join(sharedDir, ...parts);
}

/** Use as `test('x', { skip: skipUnlessShared }, ...)`: false when present, else the reason. */
export const skipUnlessShared: string | false = hasShared
  ? false
  : `../shared not found at ${sharedDir} (test data and weights)`;

/** The exercise's database: one photo per person in `data/faces/happy-house/` (danielle's is a PNG). */
export const HAPPY_HOUSE_PEOPLE = [
  'andrew',
  'arnaud',
  'benoit',
  'bertrand',
  'dan',
  'danielle',
  'felix',
  'kevin',
  'kian',
  'sebastiano',
  'tian',
  'younes',
] as const;
