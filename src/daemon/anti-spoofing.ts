/**
 * The daemon's anti-spoofing set-up (issue 12): which cues the inference worker must compute for
 * `door.antiSpoofing.mode`, and the MiniFASNet files for the passive layer. A missing model is fetched once when
 * the network allows (pinned sha256, all-or-nothing install, one log line), so `npm ci && npm start` gives a
 * working kiosk; offline (or `FACEGATE_OFFLINE=1`), the daemon starts anyway and the caller raises the
 * `anti-spoofing-unavailable` alarm — the door then denies face claims unless `whenUnavailable: allow`.
 */
import type { Logger } from 'pino';
import type { FacegateConfig } from '../config/schema.ts';
import { layersFor } from '../door/liveness-gate.ts';
import type { LivenessOptions } from '../inference/protocol.ts';
import { verifiedModelFiles } from '../models/pinned-kind.ts';
import {
  MINIFASNET_V1SE_FILE,
  MINIFASNET_V2_FILE,
  minifasnetModelKind,
  minifasnetSpec,
} from '../recognition/graph-model-kinds.ts';
import { errorMessage } from '../util/errors.ts';

/** A first-start download gives up after this long (two ~1.7 MB files; a kiosk behind a dead proxy must start). */
const FETCH_TIMEOUT_MS = 30_000;

export interface AntiSpoofingSetup {
  /** For the inference worker; undefined when no layer applies (mode off, or badge-only doors). */
  worker: LivenessOptions | undefined;
  /** The passive layer is configured (so a missing model matters). */
  needsPad: boolean;
  /** Why the passive model is not available, or null. */
  problem: string | null;
}

async function findModel(modelsDir: string): Promise<{ v2: string; v1se: string }> {
  const files = await verifiedModelFiles(modelsDir, minifasnetSpec);
  return { v2: files[MINIFASNET_V2_FILE]!, v1se: files[MINIFASNET_V1SE_FILE]! };
}

async function fetchOnce(modelsDir: string, logger: Logger): Promise<void> {
  logger.info(
    { event: 'model-fetch', kind: 'minifasnet' },
    'anti-spoofing model missing: fetching minifasnet once (pinned sha256; offline kiosks: facegate models import)',
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${FETCH_TIMEOUT_MS / 1000} s`)), FETCH_TIMEOUT_MS);
  });
  try {
    await Promise.race([minifasnetModelKind.fetch?.(modelsDir), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function prepareAntiSpoofing(
  config: FacegateConfig,
  modelsDir: string,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AntiSpoofingSetup> {
  const { door } = config;
  if (door.mode === 'badge') return { worker: undefined, needsPad: false, problem: null };
  const layers = layersFor(door.antiSpoofing.mode, door.mode === 'badge+face');
  if (!layers.passive && !layers.active) return { worker: undefined, needsPad: false, problem: null };
  let padFiles: LivenessOptions['padFiles'] = null;
  let problem: string | null = null;
  if (layers.passive) {
    try {
      padFiles = await findModel(modelsDir);
    } catch (missing) {
      problem = errorMessage(missing);
      if (env.FACEGATE_OFFLINE !== '1' && / not found: /.test(problem)) {
        try {
          await fetchOnce(modelsDir, logger);
          padFiles = await findModel(modelsDir);
          problem = null;
        } catch (err) {
          problem = `${problem}; fetching it failed: ${errorMessage(err)}`;
        }
      }
    }
  }
  return { worker: { padFiles, landmarks: layers.active }, needsPad: layers.passive, problem };
}
