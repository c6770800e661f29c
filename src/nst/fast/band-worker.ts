/**
 * The helper thread of the fast-style band split (fast-split.ts): its own tfjs/wasm instance (wasm in Node has no
 * threads, so a second instance is the only way onto the second core) holding one style's network, running one
 * band at a time and stopping at every instance norm to trade statistics and halo rows with the coordinator.
 */
import { parentPort } from 'node:worker_threads';
import type { Tensor4D } from '@tensorflow/tfjs';
import { type BackendName, initBackend, tf } from '../../runtime/tf.ts';
import { errorMessage } from '../../util/errors.ts';
import { type BandGeometry, type BandSteps, type Block, fastBand, type NormIn, type NormOut } from './band.ts';
import { buildFastStyleNet, type FastStyleNet } from './net.ts';
import type { FastStyleWeights } from './weights.ts';

export type HelperRequest =
  | { type: 'init'; backend: string }
  | { type: 'weights'; key: string; weights: FastStyleWeights }
  | { type: 'run'; geometry: BandGeometry; input: Block; chunkRows: number }
  | { type: 'norm'; reply: NormIn };

export type HelperReply =
  | { type: 'ready' }
  | { type: 'norm'; out: NormOut }
  | { type: 'done'; output: Block }
  | { type: 'error'; message: string };

const port = parentPort;
let ready: Promise<unknown> | undefined;
let net: FastStyleNet | undefined;
let run: { steps: BandSteps; input: Tensor4D } | undefined;

function post(m: HelperReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

/** Runs the band to its next norm layer (or its end) and sends what it produced. */
function advance(step: IteratorResult<NormOut, Tensor4D>): void {
  if (!step.done) {
    const out = step.value;
    const transfer = [out.toAbove, out.toBelow].flatMap((b) => (b ? [b.data.buffer as ArrayBuffer] : []));
    post({ type: 'norm', out }, transfer);
    return;
  }
  const t = step.value;
  const output: Block = { data: t.dataSync() as Float32Array, shape: t.shape };
  tf.dispose([t, run?.input]);
  run = undefined;
  post({ type: 'done', output }, [output.data.buffer as ArrayBuffer]);
}

async function handle(m: HelperRequest): Promise<void> {
  if (m.type === 'init') {
    ready = initBackend(m.backend as BackendName);
    await ready;
    post({ type: 'ready' });
    return;
  }
  await ready;
  if (m.type === 'weights') {
    net?.dispose();
    net = buildFastStyleNet(m.weights);
    post({ type: 'ready' });
  } else if (m.type === 'run') {
    if (!net) throw new Error('fast band helper: no weights loaded');
    const input = tf.tensor4d(m.input.data, m.input.shape);
    run = { steps: fastBand(net, m.geometry, input, m.chunkRows), input };
    advance(run.steps.next());
  } else {
    if (!run) throw new Error('fast band helper: norm reply without a running band');
    advance(run.steps.next(m.reply));
  }
}

if (port) {
  port.on('message', (m: HelperRequest) => {
    handle(m).catch((err: unknown) => {
      if (run) {
        tf.dispose(run.input);
        run = undefined;
      }
      post({ type: 'error', message: errorMessage(err) });
    });
  });
}
