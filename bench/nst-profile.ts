/**
 * Per-op profile of fast style at 400x300 and 640x480: every wasm kernel the network runs, timed in this process's
 * CPU time (not wall time, so other processes on a shared machine distort it much less), summed per kernel and
 * input shape over several runs, with the conv FLOPs and the GFLOPS each achieves.
 *
 *   node --import tsx bench/nst-profile.ts [--style udnie] [--runs 3] [--sizes 400x300,640x480]
 *
 * Not part of the product: a developer's tool for bench/RESULTS.md.
 */
import { parseArgs } from 'node:util';
import type { Tensor4D } from '@tensorflow/tfjs';
import { buildFastStyleNet, runFastStyle } from '../src/nst/fast/net.ts';
import { loadStyleByName } from '../src/nst/fast/style-kind.ts';
import { initBackend, tf } from '../src/runtime/tf.ts';

interface Row {
  key: string;
  kernel: string;
  ms: number;
  flops: number;
  calls: number;
}

/** Multiply-add FLOPs of a conv kernel from its input/filter/output shapes (2 per multiply-add). */
function convFlops(kernel: string, inputs: number[][], output: number[]): number {
  if (kernel !== 'Conv2D' && kernel !== 'FusedConv2D') return 0;
  const f = inputs[1] as number[];
  const [, oh, ow] = output as [number, number, number, number];
  return 2 * oh * ow * (f[0] as number) * (f[1] as number) * (f[2] as number) * (f[3] as number);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      style: { type: 'string', default: 'udnie' },
      runs: { type: 'string', default: '3' },
      sizes: { type: 'string', default: '400x300,640x480' },
      models: { type: 'string', default: '../shared/models' },
    },
  });
  await initBackend('wasm');
  // CPU time per kernel instead of wall time (the wasm backend's timer is wall time).
  const backend = tf.backend() as unknown as { time(f: () => void): Promise<{ kernelMs: number }> };
  backend.time = async (f) => {
    const t0 = cpuMs();
    f();
    return { kernelMs: cpuMs() - t0 };
  };
  const net = buildFastStyleNet(await loadStyleByName(values.models as string, values.style as string));
  for (const size of (values.sizes as string).split(',')) {
    const [w, h] = size.split('x').map(Number) as [number, number];
    const x = tf.randomUniform([1, h, w, 3], 0, 255, 'float32', 1) as Tensor4D;
    tf.dispose(runFastStyle(net, x)); // warm-up: operator caches and heap growth
    const rows = new Map<string, Row>();
    let total = 0;
    let wallTotal = 0;
    const runs = Number(values.runs);
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        tf.dispose(runFastStyle(net, x));
      });
      wallTotal += performance.now() - t0;
      for (const k of info.kernels) {
        const ms = k.kernelTimeMs as number;
        const out = k.outputShapes[0] ?? [];
        const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
        const row = rows.get(key) ?? { key, kernel: k.name, ms: 0, flops: 0, calls: 0 };
        row.ms += ms / runs;
        row.flops += convFlops(k.name, k.inputShapes as number[][], out) / runs;
        row.calls += 1 / runs;
        rows.set(key, row);
        total += ms / runs;
      }
    }
    const flops = [...rows.values()].reduce((a, r) => a + r.flops, 0);
    console.log(
      `\n${size}: ${total.toFixed(0)} ms CPU per run in kernels (wall ${(wallTotal / runs).toFixed(0)} ms), ` +
        `${(flops / 1e9).toFixed(1)} GFLOP, ${(flops / 1e6 / total).toFixed(1)} GFLOPS overall`,
    );
    const byKernel = new Map<string, number>();
    for (const r of rows.values()) byKernel.set(r.kernel, (byKernel.get(r.kernel) ?? 0) + r.ms);
    console.log(
      [...byKernel]
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${ms.toFixed(0)} ms (${((100 * ms) / total).toFixed(1)} %)`)
        .join('; '),
    );
    for (const r of [...rows.values()].sort((a, b) => b.ms - a.ms).slice(0, 25)) {
      const gf = r.flops ? ` ${(r.flops / 1e9).toFixed(2)} GFLOP ${(r.flops / 1e6 / r.ms).toFixed(1)} GFLOPS` : '';
      console.log(`  ${r.ms.toFixed(1).padStart(7)} ms  x${r.calls.toFixed(0)}  ${r.key}${gf}`);
    }
    x.dispose();
  }
  net.dispose();
}

await main();
