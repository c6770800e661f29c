/**
 * APCER / BPCER of the fused MiniFASNet score on `../shared/data/pad` (80 bona-fide, 80 attack 256x256 frames),
 * each scored on YuNet's largest face, at a threshold (default 0.5). A quick check of the pre-processing, not a
 * promise for a real door: one public set, one capture setting. A frame with no face counts as refused.
 * Also times the fused score (both networks: crop, resize, two forward passes) per face: p50 over every frame.
 * Run: node --import tsx bench/pad.ts [threshold] [shared dir]
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { largestFace, YunetDetector } from '../src/recognition/detect/yunet.ts';
import { MiniFasNet, PAD_THRESHOLD } from '../src/recognition/liveness/minifasnet.ts';
import { loadImage } from '../src/runtime/image.ts';
import { initBackend } from '../src/runtime/tf.ts';
import { defaultSharedDir } from '../src/util/shared-dir.ts';
import { median, percentile } from '../src/util/stats.ts';

async function main(): Promise<void> {
  const threshold = Number(process.argv[2] ?? PAD_THRESHOLD);
  const shared = path.resolve(process.argv[3] ?? defaultSharedDir());
  await initBackend('wasm');
  const models = path.join(shared, 'models');
  const yunet = await YunetDetector.load(path.join(models, 'yunet', 'face_detection_yunet_2023mar.onnx'));
  const pad = await MiniFasNet.load(
    path.join(models, 'minifasnet', '2.7_80x80_MiniFASNetV2.onnx'),
    path.join(models, 'minifasnet', '4_0_0_80x80_MiniFASNetV1SE.onnx'),
  );
  const live: Record<string, { live: number; total: number; noFace: number }> = {};
  const padMs: number[] = [];
  for (const set of ['bona-fide', 'attack']) {
    const dir = path.join(shared, 'data', 'pad', set);
    const r = { live: 0, total: 0, noFace: 0 };
    for (const file of (await readdir(dir)).sort()) {
      r.total++;
      const img = await loadImage(path.join(dir, file));
      const face = largestFace(await yunet.detect(img));
      if (!face) {
        r.noFace++;
        continue;
      }
      const t0 = performance.now();
      const { score } = await pad.score(img, face.box);
      padMs.push(performance.now() - t0);
      if (score >= threshold) r.live++;
    }
    live[set] = r;
  }
  const bf = live['bona-fide']!;
  const at = live.attack!;
  const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)} % (${n}/${d})`;
  console.log(`threshold ${threshold}: APCER ${pct(at.live, at.total)}, BPCER ${pct(bf.total - bf.live, bf.total)}`);
  console.log(`no face found: ${bf.noFace} bona-fide, ${at.noFace} attack`);
  // The first calls compile the graphs: left out of the timing.
  const timed = padMs.slice(5);
  console.log(
    `PAD (both nets) per face: p50 ${median(timed).toFixed(1)} ms, p95 ${percentile(timed, 95).toFixed(1)} ms`,
  );
  yunet.dispose();
  pad.dispose();
}

await main();
