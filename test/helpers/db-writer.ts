/**
 * A second process writing the face database, for the one-writer tests:
 * `upsert <file> <prefix> <count>` adds <count> identities one write at a time;
 * `hang <file>` starts a write and stops for good just before its rename (prints `renaming`), holding whatever the
 * writer holds, until the test kills it.
 */
import { FaceDb } from '../../src/store/face-db.ts';

const [mode, file, prefix = 'w', count = '1'] = process.argv.slice(2);
if (!file) throw new Error('usage: db-writer.ts upsert|hang <file> [prefix count]');

if (mode === 'upsert') {
  const db = await FaceDb.open(file);
  for (let i = 0; i < Number(count); i += 1)
    await db.upsert({ id: `${prefix}${i}`, name: `${prefix}${i}`, badges: [], enabled: true });
} else if (mode === 'hang') {
  const db = await FaceDb.open(file, {
    rename: () => {
      process.stdout.write('renaming\n');
      return new Promise<void>(() => setInterval(() => undefined, 60_000));
    },
  });
  await db.upsert({ id: 'zed', name: 'zed', badges: [], enabled: true });
}
