/**
 * The layers of issue 11 hold: no import cycle, no import from a lower layer up to a higher one, no import between
 * peer folders of one layer, and every file of src/ and bench/ placed in a layer (test/helpers/import-graph.ts has
 * the table). Type-only imports count: they couple the files all the same. The second test proves, on a small tree,
 * that each kind of violation is found, so the first one can fail.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  importCycles,
  importEdges,
  LAYERS,
  type LayerTable,
  layerViolations,
  unplaced,
} from '../helpers/import-graph.ts';
import { repoRoot } from '../helpers/shared.ts';

const table: LayerTable = { layers: LAYERS };
const describeEdges = (list: ReadonlyArray<{ from: string; to: string }>) =>
  list.map((e) => `${e.from} -> ${e.to}`).join('\n');

test('src/ and bench/: 0 import cycles, 0 upward and 0 sideways imports, every file in a layer', () => {
  const edges = importEdges(repoRoot);
  assert.ok(edges.length > 100, `only ${edges.length} imports found: the walker lost the tree`);
  const cycles = importCycles(edges);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(' ')).join('\n')}`);
  const violations = layerViolations(edges, table);
  const upward = violations.filter((v) => v.why === 'upward');
  const sideways = violations.filter((v) => v.why === 'sideways');
  assert.equal(upward.length, 0, `upward imports:\n${describeEdges(upward)}`);
  assert.equal(sideways.length, 0, `sideways imports:\n${describeEdges(sideways)}`);
  assert.deepEqual(unplaced(edges, table, repoRoot), [], 'files outside every layer');
});

test('the checker finds an upward import, a sideways import and a cycle', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'facegate-architecture-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const files: Record<string, string> = {
    // util (bottom) reaching up into the daemon: upward.
    'src/util/clock.ts': "import type { Daemon } from '../daemon/compose.ts';\nexport type T = Daemon;\n",
    'src/daemon/compose.ts': 'export interface Daemon { x: number }\n',
    // display and metrics are peers in the features layer: sideways.
    'src/display/module.ts': "import { m } from '../metrics/metrics.ts';\nexport const d = m;\n",
    'src/metrics/metrics.ts': 'export const m = 1;\n',
    // Two files of one folder importing each other: a cycle (allowed by the layers, refused as a cycle).
    'src/door/a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
    'src/door/b.ts': "import type { a } from './a.ts';\nexport const b = 2;\nexport type A = typeof a;\n",
  };
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  const edges = importEdges(root);
  const violations = layerViolations(edges, table);
  const found = violations.map((v) => `${v.why} ${v.from} -> ${v.to}`).sort();
  assert.deepEqual(found, [
    'sideways src/display/module.ts -> src/metrics/metrics.ts',
    'upward src/util/clock.ts -> src/daemon/compose.ts',
  ]);
  assert.deepEqual(importCycles(edges), [['src/door/a.ts', 'src/door/b.ts']]);
});
