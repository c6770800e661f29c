/**
 * Child process for `facegate bench nst`: runs the plain reference (nst-plain.ts) on request, so its memory
 * (ml5's way keeps every layer's output until the end: ~1.7 GB at 640x480) does not count in facegate's peak RSS.
 * Protocol (IPC): { style, modelsDir, backend } once, then { width, height, seed } per run; replies
 * { ms, rssMB, pixels? } with the output bytes on the first run at each size (to check like for like).
 */
import { performance } from 'node:perf_hooks';
import type { Tensor3D } from '@tensorflow/tfjs';
import { loadStyleByName } from '../src/nst/fast/style-kind.ts';
import { type BackendName, initBackend, tf } from '../src/runtime/tf.ts';
import { ExitCode, errorMessage } from '../src/util/errors.ts';
import { buildPlainNet, type PlainNet, runPlain } from './nst-plain.ts';
import { testImage } from './test-image.ts';

export type PlainRequest =
  | { type: 'init'; style: string; modelsDir: string; backend: string }
  | { type: 'run'; width: number; height: number; seed: number; wantPixels: boolean };

export type PlainReply =
  | { type: 'ready' }
  | { type: 'ran'; ms: number; cpuMs: number; rssMB: number; pixels?: Int32Array }
  | { type: 'error'; message: string };

let net: PlainNet | undefined;

async function handle(m: PlainRequest): Promise<PlainReply> {
  if (m.type === 'init') {
    await initBackend(m.backend as BackendName);
    net = buildPlainNet(await loadStyleByName(m.modelsDir, m.style));
    return { type: 'ready' };
  }
  if (!net) throw new Error('plain reference used before init');
  const img = testImage(m.width, m.height, m.seed);
  // Timed like facegate's stylizeFast: from the bytes to the bytes.
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const x = tf.tensor3d(img.data, [m.height, m.width, 3], 'int32').toFloat() as Tensor3D;
  const y = runPlain(net, x);
  const bytes = tf.tidy(() => y.round().toInt()).dataSync();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  tf.dispose([x, y]);
  const rssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  return {
    type: 'ran',
    ms,
    cpuMs: (c.user + c.system) / 1000,
    rssMB,
    pixels: m.wantPixels ? (bytes as Int32Array) : undefined,
  };
}

process.on('message', (m: PlainRequest) => {
  handle(m).then(
    (r) => process.send?.(r),
    (err: unknown) => process.send?.({ type: 'error', message: errorMessage(err) } satisfies PlainReply),
  );
});
process.on('disconnect', () => process.exit(ExitCode.ok));
