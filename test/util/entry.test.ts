/**
 * Worker and child entries follow the running module's extension: `.js` from the build, `.ts` from the sources
 * (this test runs them under tsx), and a `.ts` worker loads even where tsx does not hook worker threads (Node 20).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { forkEntry, siblingEntry, startWorker, tsxArgv } from '../../src/util/entry.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'facegate-entry-'));
// ES modules, as in the package itself.
writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
after(() => rmSync(dir, { recursive: true, force: true }));

test('the sibling entry keeps the extension of the module asking', () => {
  assert.equal(siblingEntry('file:///pkg/dist/src/nst/job.js', 'worker').href, 'file:///pkg/dist/src/nst/worker.js');
  assert.equal(siblingEntry('file:///pkg/src/nst/job.ts', 'worker').href, 'file:///pkg/src/nst/worker.ts');
  assert.equal(
    siblingEntry('file:///pkg/dist/bench/audit-log.js', '../src/store/audit-query').href,
    'file:///pkg/dist/src/store/audit-query.js',
  );
  assert.deepEqual(tsxArgv(new URL('file:///pkg/dist/bench/x.js')), []);
  assert.deepEqual(tsxArgv(new URL('file:///pkg/bench/x.ts')), ['--import', 'tsx']);
});

test('a TypeScript worker starts from the sources, with its workerData', async (t) => {
  const file = path.join(dir, 'echo-worker.ts');
  writeFileSync(
    file,
    "import { parentPort, workerData } from 'node:worker_threads';\nconst n: number = workerData.n;\nparentPort?.postMessage(n * 2);\n",
  );
  const worker = startWorker(pathToFileURL(file), { workerData: { n: 21 } });
  t.after(() => worker.terminate());
  const reply = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.equal(reply, 42);
});

test('a TypeScript child process starts from the sources', async (t) => {
  const file = path.join(dir, 'echo-child.ts');
  writeFileSync(file, 'const n: number = 4;\nprocess.send?.(n * 2, () => process.disconnect());\n');
  const child = forkEntry(pathToFileURL(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => child.kill('SIGKILL'));
  const reply = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  assert.equal(reply, 8);
});
