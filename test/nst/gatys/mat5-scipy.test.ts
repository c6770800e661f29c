/**
 * The .mat reader against an independent writer: SciPy's `scipy.io.savemat` (Debian python3-scipy, run with
 * /usr/bin/python3 at test time) writes a small MatConvNet-style VGG — a `layers` cell array of 1x1 structs with
 * `name`, `type`, a `weights` cell {W, b} and double-valued fields, like imagenet-vgg-verydeep-19.mat — and the
 * loader must give back every conv's weights in TF layout. The values come from a formula in which every index of
 * W[y, x, in, out] shows, so a wrong axis order or column/row-major mix-up cannot pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readMat5 } from '../../../src/nst/gatys/mat5.ts';
import { VGG19_LAYERS, vggConvsFromMat } from '../../../src/nst/gatys/vgg.ts';

const PYTHON = '/usr/bin/python3';

function scipyMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import scipy.io'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? false : `python3-scipy not installed (${PYTHON} -c 'import scipy.io' failed)`;
}

/** Channels per block: VGG-19's divided by 16. */
const BLOCK_CHANNELS = [4, 8, 16, 32, 32];
const weight = (layer: number, y: number, x: number, i: number, o: number) =>
  ((y * 3 + x) * 64 + i) * 64 + o - 17_000 + layer / 4;
const bias = (layer: number, o: number) => -(o + 1) / 8 - layer;

const WRITER = `
import json, sys
import numpy as np, scipy.io
out, compress, names = sys.argv[1], sys.argv[2] == '1', json.loads(sys.argv[3])
blocks = ${JSON.stringify(BLOCK_CHANNELS)}
layers = np.empty((1, len(names)), dtype=object)
cin = 3
for n, name in enumerate(names):
    layer = {'name': name, 'type': name.rstrip('0123456789_')}
    if name.startswith('conv'):
        cout = blocks[int(name[4]) - 1]
        y, x, i, o = np.meshgrid(np.arange(3), np.arange(3), np.arange(cin), np.arange(cout), indexing='ij')
        w = (((y * 3 + x) * 64 + i) * 64 + o - 17000 + n / 4).astype(np.float32)
        b = (-(np.arange(cout) + 1) / 8 - n).astype(np.float32).reshape(cout, 1)
        weights = np.empty((1, 2), dtype=object)
        weights[0, 0], weights[0, 1] = w, b
        layer.update(weights=weights, stride=np.array([[1.0, 1.0]]), pad=np.array([[1.0, 1.0, 1.0, 1.0]]))
        cin = cout
    elif name.startswith('pool'):
        layer.update(method='avg', pool=np.array([[2.0, 2.0]]), stride=np.array([[2.0, 2.0]]))
    layers[0, n] = layer
meta = {'normalization': {'averageImage': np.array([123.68, 116.779, 103.939]).reshape(1, 1, 3)}}
scipy.io.savemat(out, {'layers': layers, 'meta': meta}, do_compression=compress)
`;

describe('the .mat reader on files written by scipy.io.savemat', { skip: scipyMissing() }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-mat5-scipy-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const compress of [true, false]) {
    test(`a MatConvNet-style VGG, ${compress ? 'compressed' : 'uncompressed'}: every conv's W and b in TF layout`, async () => {
      const file = path.join(dir, `vgg-${compress ? 'z' : 'raw'}.mat`);
      const names = [...VGG19_LAYERS, 'relu5_4', 'pool5'];
      const r = spawnSync(PYTHON, ['-c', WRITER, file, compress ? '1' : '0', JSON.stringify(names)], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `savemat failed: ${r.stderr}`);
      const vars = readMat5(await readFile(file), file);
      const meta = vars.get('meta');
      assert.equal(meta?.kind, 'struct');
      const average = meta?.kind === 'struct' ? meta.elements[0]?.normalization : undefined;
      const image = average?.kind === 'struct' ? average.elements[0]?.averageImage : undefined;
      assert.ok(image?.kind === 'numeric' && image.className === 'double');
      assert.deepEqual(image.dims, [1, 1, 3]);
      for (const [i, m] of [123.68, 116.779, 103.939].entries())
        assert.ok(Math.abs((image.values[i] as number) - m) < 1e-4);

      const convs = vggConvsFromMat(vars, file);
      assert.deepEqual(
        convs.map((c) => c.name),
        VGG19_LAYERS.filter((n) => n.startsWith('conv')),
      );
      let cin = 3;
      for (const c of convs) {
        const n = names.indexOf(c.name);
        const cout = BLOCK_CHANNELS[Number(c.name.charAt(4)) - 1] as number;
        assert.deepEqual(c.shape, [3, 3, cin, cout], c.name);
        let k = 0;
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 3; x++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++, k++) {
                if (c.filter[k] !== weight(n, y, x, i, o))
                  assert.fail(
                    `${c.name} W[${y}, ${x}, ${i}, ${o}] = ${c.filter[k]}, expected ${weight(n, y, x, i, o)}`,
                  );
              }
        assert.deepEqual(
          Array.from(c.bias),
          Array.from({ length: cout }, (_, o) => Math.fround(bias(n, o))),
          c.name,
        );
        cin = cout;
      }
    });
  }
});
