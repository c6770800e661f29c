/**
 * Recognition accuracy of the old and the new pipeline on the shared photos, side by side (issue 17):
 * - old (today's default): TinyFaceDetector with the padded retries `facegate enroll` uses, 68 landmarks, face-api's
 *   dlib-style alignment, faceRecognitionNet 128-d, Euclidean distance (FacePipeline.analyse as the CLI calls it);
 * - new: YuNet at 320 px, five-point alignment from the full frame, face-reidentification-retail-0095 256-d, cosine
 *   distance (YunetDetector, Reid0095.embedFace, cosineDistance), weights from `<shared>/models`, sha256-checked.
 * Photos: bbt (8 people x 5 crops; the group photos are left out) and happy-house (12 people, one photo each, plus
 * camera_0 = younes and camera_2 = someone who is not kian). Every pair of photos whose faces were both found is a
 * genuine pair (same person) or an impostor pair (different people); camera_2 is an impostor against kian and
 * against every bbt photo, and left out against the other happy-house people (its identity is not given).
 * Rates (src/recognition/calibrate.ts, exact, no interpolation): EER with its threshold, FAR where FRR ≤ 2 %, FRR
 * where FAR ≤ 0.1 %, and both at the encoder's default threshold; detection misses per pipeline. Small sets: a
 * single pair moves a rate by 1/80 of the genuine pairs — read the counts, not only the percentages.
 * Run: node --import tsx bench/accuracy.ts [shared dir] [--json]
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { verifiedModelFiles } from '../src/models/pinned-kind.ts';
import {
  type EqualErrorRate,
  equalErrorRate,
  farAtFrr,
  frrAtFar,
  type VerificationPoint,
  verificationRates,
} from '../src/recognition/calibrate.ts';
import { largestFace, YunetDetector } from '../src/recognition/detect/yunet.ts';
import { cosineDistance } from '../src/recognition/embed/metric.ts';
import { REID_THRESHOLD, Reid0095 } from '../src/recognition/embed/reid-0095.ts';
import { faceReidSpec, REID_BIN, REID_XML, YUNET_FILE, yunetSpec } from '../src/recognition/graph-model-kinds.ts';
import { euclidean } from '../src/recognition/matching.ts';
import { FacePipeline } from '../src/recognition/pipeline.ts';
import { loadImage, type RgbImage } from '../src/runtime/image.ts';
import { defaultSharedDir } from '../src/util/shared-dir.ts';

const FRR_TARGET = 0.02;
const FAR_TARGET = 0.001;

interface Photo {
  file: string;
  set: 'bbt' | 'happy-house';
  /** null: identity not given (camera_2). */
  identity: string | null;
  /** Identities this photo is known NOT to show. */
  not?: string[];
}

async function photos(shared: string): Promise<Photo[]> {
  const list: Photo[] = [];
  const bbt = path.join(shared, 'data', 'faces', 'bbt');
  for (const person of (await readdir(bbt, { withFileTypes: true })).filter((d) => d.isDirectory())) {
    for (const f of (await readdir(path.join(bbt, person.name))).sort()) {
      list.push({ file: path.join(bbt, person.name, f), set: 'bbt', identity: person.name });
    }
  }
  const hh = path.join(shared, 'data', 'faces', 'happy-house');
  // The database photos are named after their person; the camera_N probes are labelled below.
  for (const file of (await readdir(hh)).filter((f) => /\.(jpg|png)$/.test(f) && !f.startsWith('camera_')).sort()) {
    list.push({ file: path.join(hh, file), set: 'happy-house', identity: path.parse(file).name });
  }
  list.push({ file: path.join(hh, 'camera_0.jpg'), set: 'happy-house', identity: 'younes' });
  list.push({ file: path.join(hh, 'camera_2.jpg'), set: 'happy-house', identity: null, not: ['kian'] });
  return list;
}

/** true = same person, false = different people, null = unknown (left out). */
function samePerson(a: Photo, b: Photo): boolean | null {
  if (a.identity !== null && b.identity !== null) return a.identity === b.identity;
  const [known, unknown] = a.identity === null ? [b, a] : [a, b];
  if (known.identity === null) return null;
  if (known.set !== unknown.set || unknown.not?.includes(known.identity)) return false;
  return null;
}

interface Encoded {
  descriptor: Float32Array | null;
  /** Found only after grey padding (the old pipeline's retries). */
  padded: boolean;
}

interface PipelineUnderTest {
  name: string;
  metric: string;
  defaultThreshold: number;
  encode(image: RgbImage): Promise<Encoded>;
  distance(a: Float32Array, b: Float32Array): number;
  dispose(): void;
}

async function oldPipeline(): Promise<PipelineUnderTest> {
  const p = await FacePipeline.create({ backend: 'wasm', detector: 'tiny', tinyInputSize: 416, minScore: 0.5 });
  return {
    name: 'old: tiny+68+dlib-resnet128',
    metric: 'euclidean',
    defaultThreshold: p.encoder.defaultThreshold,
    async encode(image) {
      const face = (await p.analyse(image)).faces[0];
      return { descriptor: face?.descriptor ?? null, padded: face?.padded ?? false };
    },
    distance: euclidean,
    dispose: () => p.dispose(),
  };
}

async function newPipeline(modelsDir: string): Promise<PipelineUnderTest> {
  const yunetFiles = await verifiedModelFiles(modelsDir, yunetSpec);
  const reidFiles = await verifiedModelFiles(modelsDir, faceReidSpec);
  const detector = await YunetDetector.load(yunetFiles[YUNET_FILE]!);
  const reid = await Reid0095.load(reidFiles[REID_XML]!, reidFiles[REID_BIN]!);
  return {
    name: 'new: yunet320+5pt+reid-0095',
    metric: 'cosine',
    defaultThreshold: REID_THRESHOLD,
    async encode(image) {
      const face = largestFace(await detector.detect(image));
      return { descriptor: face ? await reid.embedFace(image, face.keypoints) : null, padded: false };
    },
    distance: cosineDistance,
    dispose() {
      detector.dispose();
      reid.dispose();
    },
  };
}

interface ScopeResult {
  scope: string;
  images: number;
  found: number;
  foundOnlyPadded: number;
  missed: string[];
  genuinePairs: number;
  impostorPairs: number;
  /** Pairs left out because a face was not found in one of the photos. */
  pairsLost: { genuine: number; impostor: number };
  eer: EqualErrorRate;
  /** The genuine pair farthest apart and the impostor pair closest together (file names, distance). */
  hardest: { genuine: [string, string, number]; impostor: [string, string, number] };
  farAtFrr2: VerificationPoint;
  frrAtFar01: VerificationPoint;
  atDefault: VerificationPoint;
}

function evaluate(scope: string, list: Photo[], enc: Map<Photo, Encoded>, p: PipelineUnderTest): ScopeResult | null {
  const genuine: number[] = [];
  const impostor: number[] = [];
  const name = (ph: Photo) => path.basename(ph.file);
  let hardGenuine: [string, string, number] = ['', '', Number.NEGATIVE_INFINITY];
  let hardImpostor: [string, string, number] = ['', '', Number.POSITIVE_INFINITY];
  const lost = { genuine: 0, impostor: 0 };
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const same = samePerson(list[i]!, list[j]!);
      if (same === null) continue;
      const a = enc.get(list[i]!)!.descriptor;
      const b = enc.get(list[j]!)!.descriptor;
      if (!a || !b) {
        lost[same ? 'genuine' : 'impostor']++;
        continue;
      }
      const d = p.distance(a, b);
      (same ? genuine : impostor).push(d);
      if (same && d > hardGenuine[2]) hardGenuine = [name(list[i]!), name(list[j]!), d];
      if (!same && d < hardImpostor[2]) hardImpostor = [name(list[i]!), name(list[j]!), d];
    }
  }
  if (genuine.length === 0 || impostor.length === 0) return null;
  return {
    scope,
    images: list.length,
    found: list.filter((ph) => enc.get(ph)!.descriptor).length,
    foundOnlyPadded: list.filter((ph) => enc.get(ph)!.padded).length,
    missed: list.filter((ph) => !enc.get(ph)!.descriptor).map(name),
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
    pairsLost: lost,
    eer: equalErrorRate(genuine, impostor),
    hardest: { genuine: hardGenuine, impostor: hardImpostor },
    farAtFrr2: farAtFrr(genuine, impostor, FRR_TARGET),
    frrAtFar01: frrAtFar(genuine, impostor, FAR_TARGET),
    atDefault: verificationRates(genuine, impostor, p.defaultThreshold),
  };
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(2)} % (${n}/${d})`;
const thr = (t: number) => (Number.isFinite(t) ? t.toFixed(4) : t > 0 ? '∞' : '-∞');
/** The thresholds giving a point's rates: (from, threshold]. */
const range = (p: { from: number; threshold: number }) => `(${thr(p.from)}, ${thr(p.threshold)}]`;

function printTable(results: Array<{ pipeline: PipelineUnderTest; scopes: ScopeResult[] }>): void {
  for (const { pipeline, scopes } of results) {
    console.log(`\n${pipeline.name} (${pipeline.metric}, default threshold ${pipeline.defaultThreshold})`);
    for (const r of scopes) {
      const det = `${r.found}/${r.images} faces found${r.foundOnlyPadded ? ` (${r.foundOnlyPadded} only after padding)` : ''}`;
      console.log(`  ${r.scope}: ${det}${r.missed.length ? `, missed: ${r.missed.join(' ')}` : ''}`);
      console.log(
        `    pairs: ${r.genuinePairs} genuine, ${r.impostorPairs} impostor (lost to misses: ${r.pairsLost.genuine} + ${r.pairsLost.impostor})`,
      );
      const e = r.eer;
      console.log(
        `    EER ${(100 * e.eer).toFixed(2)} % at thresholds ${range(e)} (FAR ${pct(e.falseAccepts, e.impostorPairs)}, FRR ${pct(e.falseRejects, e.genuinePairs)})`,
      );
      const f = r.farAtFrr2;
      console.log(`    FAR where FRR ≤ 2 %:   ${pct(f.falseAccepts, f.impostorPairs)} at ${range(f)}`);
      const g = r.frrAtFar01;
      console.log(`    FRR where FAR ≤ 0.1 %: ${pct(g.falseRejects, g.genuinePairs)} at ${range(g)}`);
      const d = r.atDefault;
      console.log(
        `    at ${d.threshold}: FAR ${pct(d.falseAccepts, d.impostorPairs)}, FRR ${pct(d.falseRejects, d.genuinePairs)}`,
      );
      const [ga, gb, gd] = r.hardest.genuine;
      const [ia, ib, id] = r.hardest.impostor;
      console.log(`    farthest genuine ${ga}-${gb} ${gd.toFixed(3)}, closest impostor ${ia}-${ib} ${id.toFixed(3)}`);
    }
  }
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const shared = path.resolve(args[0] ?? defaultSharedDir());
  const list = await photos(shared);
  const images = new Map<Photo, RgbImage>();
  for (const ph of list) images.set(ph, await loadImage(ph.file));
  const results: Array<{ pipeline: PipelineUnderTest; scopes: ScopeResult[] }> = [];
  for (const make of [oldPipeline, () => newPipeline(path.join(shared, 'models'))]) {
    const pipeline = await make();
    try {
      const enc = new Map<Photo, Encoded>();
      for (const ph of list) enc.set(ph, await pipeline.encode(images.get(ph)!));
      const scopes = [
        evaluate('bbt + happy-house', list, enc, pipeline),
        evaluate(
          'bbt only',
          list.filter((ph) => ph.set === 'bbt'),
          enc,
          pipeline,
        ),
      ].filter((r): r is ScopeResult => r !== null);
      results.push({ pipeline, scopes });
    } finally {
      pipeline.dispose();
    }
  }
  if (json) {
    const out = results.map(({ pipeline, scopes }) => ({
      pipeline: pipeline.name,
      metric: pipeline.metric,
      defaultThreshold: pipeline.defaultThreshold,
      // JSON has no Infinity: a threshold of null means "accept every distance", a `from` of null "no lower bound".
      scopes: JSON.parse(JSON.stringify(scopes, (_, v) => (Number.isFinite(v) || typeof v !== 'number' ? v : null))),
    }));
    console.log(JSON.stringify(out, null, 2));
  } else {
    printTable(results);
  }
}

await main();
