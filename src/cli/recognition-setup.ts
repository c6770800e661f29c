/** Shared set-up of the recognition commands: flags, the database and the pipeline, built the same way each time. */
import path from 'node:path';
import type { Command } from 'commander';
import type { FacegateConfig } from '../config/schema.ts';
import { resolveModelsDir } from '../models/paths.ts';
import { DEFAULT_ENCODER, type FaceEncoder } from '../recognition/encoder.ts';
import type { QualityGate } from '../recognition/enrollment.ts';
import type { DetectorName, FacePipeline } from '../recognition/pipeline.ts';
import { DEFAULT_MAX_PIXELS } from '../runtime/image.ts';
import type { FaceDb } from '../store/face-db.ts';
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

/**
 * The config file's settings (`--config`, else /etc/facegate/config.yaml if present, else the embedded defaults),
 * so the CLI and the daemon agree on encoder, threshold, quality gate and database; flags still win.
 */
const loadedConfigs = new WeakMap<Command, Promise<FacegateConfig>>();

export function cliConfig(cmd: Command): Promise<FacegateConfig> {
  let loaded = loadedConfigs.get(cmd);
  if (!loaded) {
    loaded = import('../config/load.ts').then(
      async ({ loadConfig }) => (await loadConfig(globalFlags(cmd).config)).config,
    );
    loadedConfigs.set(cmd, loaded);
  }
  return loaded;
}

export async function thresholdFor(cmd: Command, encoder: FaceEncoder, flags: RecognitionFlags): Promise<number> {
  return flags.threshold ?? (await cliConfig(cmd)).recognition.threshold ?? encoder.defaultThreshold;
}

async function dbFile(cmd: Command): Promise<string> {
  const flag = globalFlags(cmd).db;
  if (flag) return flag;
  const { data } = await cliConfig(cmd);
  const { DEFAULT_DB_FILE } = await import('../store/face-db.ts');
  return data.dbFile ?? (data.dir === 'data' ? DEFAULT_DB_FILE : path.join(data.dir, 'faces.json'));
}

/** The database the command works on; its first change says in one line (stderr) if a running daemon follows it. */
export async function openDb(cmd: Command): Promise<FaceDb> {
  // Loaded on use (with the database schema): `--help` needs neither.
  const { FaceDb } = await import('../store/face-db.ts');
  const db = await FaceDb.open(await dbFile(cmd));
  const off = db.onChange(() => {
    off();
    const pid = db.runningDaemon();
    if (pid !== null)
      process.stderr.write(
        `note: the running daemon (pid ${pid}) follows ${db.file} and applies this change within 2 s\n`,
      );
  });
  return db;
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
    modelsDir: resolveModelsDir(globals.modelsDir, recognition.modelsDir ?? undefined),
  });
}
