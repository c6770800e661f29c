/** Shared set-up of the recognition commands: flags, the database and the pipeline, built the same way each time. */
import type { Command } from 'commander';
import { resolveModelsDir } from '../models/paths.ts';
import type { FaceEncoder } from '../recognition/encoder.ts';
import { DEFAULT_ENCODER } from '../recognition/encoders.ts';
import type { DetectorName, FacePipeline } from '../recognition/pipeline.ts';
import { DEFAULT_MAX_PIXELS } from '../runtime/image.ts';
import { DEFAULT_DB_FILE, FaceDb } from '../store/face-db.ts';
import { FacegateError } from '../util/errors.ts';
import { globalFlags } from './context.ts';

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
    .option('--encoder <id>', `face encoder (default: ${DEFAULT_ENCODER})`)
    .option('--detector <name>', 'face detector: tiny (default) | ssd')
    .option('--threshold <distance>', "match threshold (default: the encoder's own)", positiveNumber)
    .option('--no-detect', 'the image is already a tight face crop: encode it whole, skip detection')
    .option('--max-pixels <n>', `refuse larger images (default ${DEFAULT_MAX_PIXELS})`, positiveNumber);
}

export function thresholdFor(encoder: FaceEncoder, flags: RecognitionFlags): number {
  return flags.threshold ?? encoder.defaultThreshold;
}

export async function openDb(cmd: Command): Promise<FaceDb> {
  return FaceDb.open(globalFlags(cmd).db ?? DEFAULT_DB_FILE);
}

export async function openPipeline(cmd: Command, flags: RecognitionFlags): Promise<FacePipeline> {
  const globals = globalFlags(cmd);
  const detector = flags.detector ?? 'tiny';
  if (detector !== 'tiny' && detector !== 'ssd')
    throw new FacegateError(`unknown detector "${detector}" (expected tiny or ssd)`);
  // Loaded on use: tfjs and the models cost a second or more, which `db list` should not pay.
  const { FacePipeline } = await import('../recognition/pipeline.ts');
  return FacePipeline.create({
    backend: globals.backend ?? 'auto',
    detector: detector as DetectorName,
    encoder: flags.encoder ?? DEFAULT_ENCODER,
    modelsDir: resolveModelsDir(globals.modelsDir),
  });
}
