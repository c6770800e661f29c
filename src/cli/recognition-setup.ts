/** Shared set-up of the recognition commands: flags, the database and the pipeline, built the same way each time. */
import type { Command } from 'commander';
import type { FaceEncoder } from '../recognition/encoder.ts';
import { DEFAULT_ENCODER, metricLabel, metricOfEncoder } from '../recognition/encoder-traits.ts';
import type { QualityGate } from '../recognition/enrollment.ts';
import type { FaceAnalysisPipeline } from '../recognition/face-types.ts';
import type { DetectorName } from '../recognition/pipeline.ts';
import { DEFAULT_MAX_PIXELS } from '../runtime/image.ts';
import type { Identity } from '../store/schema.ts';
import { FacegateError } from '../util/errors.ts';
import { globalFlags } from './context.ts';
import { cliConfig, cliModelsDir } from './locations.ts';

export interface RecognitionFlags {
  encoder?: string;
  detector?: string;
  threshold?: number;
  /** commander's `--no-detect` sets `detect: false`. */
  detect?: boolean;
  maxPixels?: number;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new FacegateError(`expected a positive number, got "${value}"`);
  return n;
}

export function recognitionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--encoder <id>',
      `face encoder: reid-0095 | dlib-resnet128 | facenet-nn4small2 (default: ${DEFAULT_ENCODER})`,
    )
    .option('--detector <name>', 'face detector: yunet (default) | tiny | ssd (tiny/ssd: 68-landmark encoders)')
    .option(
      '--threshold <distance>',
      "match threshold in the encoder's metric: cosine 1-cos for reid-0095, Euclidean otherwise (default: the encoder's own)",
      positiveNumber,
    )
    .option('--no-detect', 'the image is already a tight face crop: encode it whole, skip detection')
    .option('--max-pixels <n>', `refuse larger images (default ${DEFAULT_MAX_PIXELS})`, positiveNumber);
}

export { cliConfig, openDb } from './locations.ts';

export async function thresholdFor(cmd: Command, encoder: FaceEncoder, flags: RecognitionFlags): Promise<number> {
  return flags.threshold ?? (await cliConfig(cmd)).recognition.threshold ?? encoder.defaultThreshold;
}

export async function qualityGateFor(cmd: Command, allowMultiple: boolean): Promise<QualityGate> {
  const { recognition } = await cliConfig(cmd);
  return { minFaceSize: recognition.minFaceSize, minScore: recognition.minScore, allowMultiple };
}

const DETECTORS: readonly DetectorName[] = ['yunet', 'tiny', 'ssd'];

/**
 * The pipeline for a recognition command. `identities`: the database it will match against, so a database enrolled
 * with an older encoder keeps being matched with that encoder (omitted by `enroll --replace`, which re-enrolls with
 * the configured one). Notes (a fetched model, the fallback to face-api, the migration hint) go to stderr, one line
 * each.
 */
export async function openPipeline(
  cmd: Command,
  flags: RecognitionFlags,
  identities?: readonly Identity[],
): Promise<FaceAnalysisPipeline> {
  const globals = globalFlags(cmd);
  const { recognition } = await cliConfig(cmd);
  const detector = flags.detector ?? recognition.detector;
  if (!DETECTORS.includes(detector as DetectorName))
    throw new FacegateError(`unknown detector "${detector}" (expected yunet, tiny or ssd)`);
  const modelsDir = await cliModelsDir(cmd);
  // Loaded on use: tfjs and the models cost a second or more, which `db list` should not pay.
  const [{ choosePipeline }, { createPipeline }] = await Promise.all([
    import('../recognition/pipeline-choice.ts'),
    import('../recognition/create-pipeline.ts'),
  ]);
  const choice = await choosePipeline({
    detector: detector as DetectorName,
    encoder: flags.encoder ?? recognition.encoder,
    encoderExplicit: flags.encoder !== undefined,
    modelsDir,
    identities,
    fetchMissing: recognition.fetchModels,
  });
  for (const note of choice.notes)
    process.stderr.write(`${note.level === 'warn' ? 'warning' : 'note'}: ${note.message}\n`);
  return createPipeline({
    backend: globals.backend ?? recognition.backend,
    detector: choice.detector,
    yunetInputSize: recognition.yunetInputSize,
    tinyInputSize: recognition.tinyInputSize,
    minScore: recognition.minScore,
    encoder: choice.encoder,
    modelsDir,
  });
}

/** How the CLI names the distance of an encoder's results, e.g. `cosine distance 1-cos`. */
export function metricName(encoderId: string): string {
  return metricLabel(metricOfEncoder(encoderId));
}
