/**
 * Per-model costs of the graph-executor networks on one kiosk-like 640x480 frame (one face ~200 px, from the
 * shared bbt photos), interleaved in the same run so a loaded machine skews them alike:
 * - YuNet at 320 px (resize + BGR + pad, network, decode + NMS);
 * - alignment + reid-0095 (JS warp from the full frame, network, L2), and the tf.image.transform warp for comparison;
 * - both MiniFASNets together (two crops + 80x80 resizes, two networks, softmax);
 * - today's live face-api pipeline (TinyFaceDetector 224 + 68 landmarks + dlib ResNet, what the daemon runs) on the
 *   same frame, as a baseline.
 * Prints medians and p95 in ms and the ratios. Run: node --import tsx bench/graph.ts [runs] [shared dir]
 */
import path from 'node:path';
import { DEFAULT_LIVE_TINY_INPUT_SIZE } from '../src/inference/protocol.ts';
import { largestFace, YunetDetector } from '../src/recognition/detect/yunet.ts';
import { inverseProjective } from '../src/recognition/embed/align.ts';
import { REID_SIZE, Reid0095, reidAlignment } from '../src/recognition/embed/reid-0095.ts';
import { MiniFasNet } from '../src/recognition/liveness/minifasnet.ts';
import { FacePipeline } from '../src/recognition/pipeline.ts';
import { initBackend, tf } from '../src/runtime/tf.ts';
import { defaultSharedDir } from '../src/util/shared-dir.ts';
import { median, percentile, round1 } from '../src/util/stats.ts';
import { buildFrame } from './recognition.ts';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 30);
  const shared = path.resolve(process.argv[3] ?? defaultSharedDir());
  const backend = await initBackend('wasm');
  const models = path.join(shared, 'models');
  const yunet = await YunetDetector.load(path.join(models, 'yunet', 'face_detection_yunet_2023mar.onnx'));
  const reid = await Reid0095.load(path.join(models, 'face-reid-0095', 'face-reidentification-retail-0095.xml'));
  const pad = await MiniFasNet.load(
    path.join(models, 'minifasnet', '2.7_80x80_MiniFASNetV2.onnx'),
    path.join(models, 'minifasnet', '4_0_0_80x80_MiniFASNetV1SE.onnx'),
  );
  const old = await FacePipeline.create({ backend: 'wasm', detector: 'tiny', tinyInputSize: 416 });
  const frame = await buildFrame(shared);
  const face = largestFace(await yunet.detect(frame));
  if (!face) throw new Error('no face in the bench frame');

  const stages: Record<string, () => Promise<unknown>> = {
    'yunet@320': () => yunet.detect(frame),
    'align(js)+reid': () => reid.embedFace(frame, face.keypoints),
    'align(tf.image.transform)+reid': async () => {
      const crop = tf.tidy(() => {
        const t = tf.tensor4d(frame.data, [1, frame.height, frame.width, 3], 'float32');
        const m = tf.tensor2d([inverseProjective(reidAlignment(face.keypoints))]);
        const out = tf.image.transform(t, m, 'bilinear', 'constant', 0, [REID_SIZE, REID_SIZE]);
        return tf.round(tf.squeeze(out, [0]));
      });
      try {
        return await reid.embed(crop as Parameters<typeof reid.embed>[0]);
      } finally {
        crop.dispose();
      }
    },
    'minifasnet v2+v1se': () => pad.score(frame, face.box),
    'face-api tiny224+68+dlib (today)': () =>
      old.analyse(frame, { padRetry: false, tinyInputSize: DEFAULT_LIVE_TINY_INPUT_SIZE }),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(stages).map((k) => [k, []]));
  for (let i = 0; i < runs + 3; i++) {
    for (const [name, run] of Object.entries(stages)) {
      const t0 = performance.now();
      await run();
      if (i >= 3) times[name]!.push(performance.now() - t0);
    }
  }
  console.log(`backend ${backend}, ${runs} runs, 640x480 frame, face ${Math.round(face.box.width)} px`);
  const p50 = (k: string) => median(times[k]!);
  for (const [name, xs] of Object.entries(times)) {
    console.log(
      `${name.padEnd(34)} p50 ${round1(median(xs)).toString().padStart(6)} ms  p95 ${round1(percentile(xs, 95))} ms`,
    );
  }
  const today = p50('face-api tiny224+68+dlib (today)');
  const yunetReid = p50('yunet@320') + p50('align(js)+reid');
  console.log(`yunet+align+reid / today: ${round1((100 * yunetReid) / today)} %`);
  console.log(
    `tf.image.transform warp / js warp (with reid): ${round1(p50('align(tf.image.transform)+reid') / p50('align(js)+reid'))}`,
  );
  yunet.dispose();
  reid.dispose();
  pad.dispose();
  old.dispose();
}

await main();
