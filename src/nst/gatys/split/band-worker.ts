/**
 * The helper thread of split Gatys: holds its own tfjs/wasm instance and VGG weights and serves one band's
 * targets / phase 1 / phase 2 requests from the coordinator (gatys-split.ts), strictly one at a time.
 */

import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import type { Tensor4D } from '@tensorflow/tfjs';
import { type BackendName, initBackend, tf } from '../../../runtime/tf.ts';
import { errorMessage } from '../../../util/errors.ts';
import type { VggConv } from '../vgg.ts';
import { type BandSpec, VggBand } from './vgg-half.ts';

export interface Block {
  data: Float32Array;
  shape: [number, number, number, number];
}

export type BandRequest =
  | { type: 'init'; convs: VggConv[]; backend: string }
  | { type: 'targets'; spec: BandSpec; content: Block; style: Block }
  | { type: 'phase1'; spec: BandSpec; generated: Block; contentTarget: Block }
  | { type: 'phase2'; dGram: Float32Array[]; alpha: number };

export type BandReply =
  | { type: 'ready' }
  | { type: 'grams'; contentKept: Block; grams: Float32Array[] }
  | { type: 'phase1'; contentSum: number; grams: Float32Array[]; ms: number }
  | { type: 'grad'; gradient: Block; ms: number }
  | { type: 'error'; message: string };

const port = parentPort;
let band: VggBand | undefined;
const tensor = (b: Block): Tensor4D => tf.tensor4d(b.data, b.shape);

async function handle(m: BandRequest): Promise<[BandReply, ArrayBuffer[]]> {
  if (m.type === 'init') {
    await initBackend(m.backend as BackendName);
    band = new VggBand(m.convs);
    return [{ type: 'ready' }, []];
  }
  if (!band) throw new Error('band worker used before init');
  if (m.type === 'targets') {
    const [c, s] = [tensor(m.content), tensor(m.style)];
    const { contentKept, grams } = band.targets(m.spec, c, s);
    tf.dispose([c, s]);
    const kept = toBlock(contentKept);
    return [
      { type: 'grams', contentKept: kept, grams },
      [kept.data.buffer as ArrayBuffer, ...grams.map((g) => g.buffer as ArrayBuffer)],
    ];
  }
  // Compute time only (no message passing): the coordinator balances the bands with it.
  const t0 = performance.now();
  if (m.type === 'phase1') {
    const g = tensor(m.generated);
    const r = band.phase1(m.spec, g, tensor(m.contentTarget));
    g.dispose();
    return [{ type: 'phase1', ...r, ms: performance.now() - t0 }, r.grams.map((x) => x.buffer as ArrayBuffer)];
  }
  const gradient = toBlock(band.phase2(m.dGram, m.alpha));
  return [{ type: 'grad', gradient, ms: performance.now() - t0 }, [gradient.data.buffer as ArrayBuffer]];
}

/** Reads a tensor out of the wasm heap (a fresh copy, so it can be transferred) and frees it. */
function toBlock(t: Tensor4D): Block {
  const data = t.dataSync() as Float32Array;
  const shape = t.shape;
  t.dispose();
  return { data, shape };
}

if (port) {
  port.on('message', (m: BandRequest) => {
    handle(m).then(
      ([reply, transfer]) => port.postMessage(reply, transfer),
      (err: unknown) => port.postMessage({ type: 'error', message: errorMessage(err) } satisfies BandReply),
    );
  });
}
