/** Shared set-up of the recognition commands: flags, the database and the pipeline, built the same way each time. */
import type { Command } from 'commander';
import { DEFAULT_ENCODER, type FaceEncoder } from '../recognition/encoder.ts';
import type { QualityGate } from '../recognition/enrollment.ts';
import type { DetectorName, FacePipeline } from '../recognition/pipeline.ts';
import { DEFAULT_MAX_PIXELS } from '../runtime/image.ts';
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
    .option('--encoder <id>', `face encoder (default: ${DEFAULT_ENCODER})`)
    .option('--detector <name>', 'face detector: tiny (default) | ssd')
    .option('--threshold <distance>', "match threshold (default: the encoder's own)", positiveNumber)
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

export async function openPipeline(cmd: Command, flags: RecognitionFlags): Promise<FacePipeline> {
  const globals = globalFlags(cmd);
  const { recognition } = await cliConfig(cmd);
  const detector = flags.detector ?? recognition.detector;
  if (detector !== 'tiny' && detector !== 'ssd')
    throw new FacegateError(`unknown detector "${detector}" (expected tiny or ssd)`);
  // Loaded on use: tfjs and the models cost a second or more, which `db list` should not pay.
  const { FacePipeline } = await import('../recognition/pipeline.ts');
  return FacePipeline.create({
    backend: globals.backend ?? recognition.backend,
    detector: detector as DetectorName,
    tinyInputSize: recognition.tinyInputSize,
    minScore: recognition.minScore,
    encoder: flags.encoder ?? recognition.encoder,
    modelsDir: await cliModelsDir(cmd),
  });
}
