/**
 * The inference worker: owns the tfjs backend and the face models, so the main thread (relay timing, MQTT, HTTP)
 * never waits on a model. Requests are handled one at a time in arrival order; the main thread keeps at most one
 * frame in flight, so the queue here stays short.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createPipeline } from '../recognition/create-pipeline.ts';
import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import { checkEnrollmentSample } from '../recognition/enrollment.ts';
import type { FaceAnalysisPipeline } from '../recognition/face-types.ts';
import { decodeImage, type RgbImage } from '../runtime/image.ts';
import { tf } from '../runtime/tf.ts';
import { ExitCode, errorMessage } from '../util/errors.ts';
import { LivenessAnalysis } from './liveness-analysis.ts';
import {
  DEFAULT_LIVE_TINY_INPUT_SIZE,
  type FromWorker,
  type InferenceOptions,
  type ToWorker,
  type WireFace,
  type WireImage,
} from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('inference worker must run in a worker thread');
const options = (workerData as { options: InferenceOptions }).options;
const liveTinyInputSize = options.liveTinyInputSize ?? DEFAULT_LIVE_TINY_INPUT_SIZE;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function toImage(wire: WireImage): RgbImage {
  return { data: new Uint8Array(wire.pixels), width: wire.width, height: wire.height };
}

// The main thread settled detector and encoder (pipeline-choice.ts): yunet + reid-0095 loads no face-api net.
let pipeline: FaceAnalysisPipeline;
let liveness: LivenessAnalysis | null;
try {
  pipeline = await createPipeline(options.pipeline);
  liveness = await LivenessAnalysis.create(options.antiSpoofing);
} catch (err) {
  post({ type: 'init-error', message: errorMessage(err) });
  process.exit(ExitCode.ok);
}
const encoderId = pipeline.encoder.id;
post({
  type: 'ready',
  encoderId,
  threshold: options.threshold ?? pipeline.encoder.defaultThreshold,
  backend: pipeline.backend,
  detector: pipeline.detector,
  pad: liveness?.padStatus ?? 'off',
});

async function enrollOne(image: RgbImage | Error, source: string): Promise<EnrollSampleResult> {
  if (image instanceof Error) return { accepted: false, reason: `not-an-image: ${image.message}`, encoding: null };
  const result = await pipeline.analyse(image);
  return checkEnrollmentSample(result, options.gate, source, encoderId);
}

async function handle(msg: ToWorker): Promise<void> {
  try {
    if (msg.type === 'analyse') {
      const t0 = performance.now();
      // Live frames are never tight crops: a frame with nobody in it must not pay for three padded re-detections.
      // Faces at a kiosk are large, so live frames use the smaller detector input (faster, and a smaller wasm heap).
      // (YuNet ignores both: it needs no padding and keeps `yunetInputSize` for frames and photos alike.)
      const image = toImage(msg);
      const result = await pipeline.analyse(image, { padRetry: false, tinyInputSize: liveTinyInputSize });
      // Own copies, so each descriptor's buffer can be transferred rather than cloned.
      const faces: WireFace[] = result.faces.map((f) => ({
        box: f.box,
        score: f.score,
        descriptor: Float32Array.from(f.descriptor),
        ...(f.keypoints ? { keypoints: f.keypoints } : {}),
      }));
      // Anti-spoofing cues of the largest face, on the whole frame (never on a tight crop).
      if (liveness && faces[0]) Object.assign(faces[0], await liveness.analyse(image, faces[0].box));
      post({ type: 'analysis', id: msg.id, faces, inferenceMs: performance.now() - t0 }, [
        ...faces.map((f) => f.descriptor.buffer as ArrayBuffer),
        ...faces.flatMap((f) => (f.landmarks68 ? [f.landmarks68.buffer as ArrayBuffer] : [])),
      ]);
    } else if (msg.type === 'enroll-images') {
      const results: EnrollSampleResult[] = [];
      for (const [i, bytes] of msg.images.entries()) {
        const image = await decodeImage(new Uint8Array(bytes), `image ${i + 1}`, {
          maxPixels: options.maxImagePixels,
        }).catch((err: unknown) => new Error(errorMessage(err)));
        results.push(await enrollOne(image, msg.source));
      }
      post({ type: 'enrolled', id: msg.id, results });
    } else if (msg.type === 'memory') {
      const wasm = (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm;
      // In a worker, heapTotal/heapUsed are this isolate's (rss is the whole process's).
      const { heapTotal, heapUsed } = process.memoryUsage();
      post({
        type: 'memory',
        id: msg.id,
        wasmHeapBytes: wasm?.HEAPU8.length ?? 0,
        jsHeapTotalBytes: heapTotal,
        jsHeapUsedBytes: heapUsed,
      });
    } else {
      const results: EnrollSampleResult[] = [];
      for (const frame of msg.frames) results.push(await enrollOne(toImage(frame), msg.source));
      post({ type: 'enrolled', id: msg.id, results });
    }
  } catch (err) {
    post({ type: 'failed', id: msg.id, message: errorMessage(err) });
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
