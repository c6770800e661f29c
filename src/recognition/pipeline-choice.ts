/**
 * Which detector and encoder actually run, settled before any model loads (the CLI and the daemon both call it):
 * 1. Database migration: encodings of different encoders are never compared, so a database enrolled with an older
 *    encoder keeps working with that encoder: when another encoder covers more of its identities than the configured
 *    one, that encoder is used and a note says how to move to the configured one. `facegate db reenroll` cannot
 *    exist — facegate stores encodings, never photos — so re-enrolling means new photos (`enroll --replace`) or the
 *    MQTT enroll-by-capture flow.
 * 2. Pairing: reid-0095 needs YuNet's five keypoints; the 68-landmark encoders (dlib-resnet128, facenet-nn4small2)
 *    run behind face-api's `tiny` (or `ssd`), so a configured `yunet` becomes `tiny` for them.
 * 3. Models: YuNet and reid-0095 are not shipped in the npm package. When missing they are fetched (pinned sha256,
 *    atomic) if allowed; when that fails, the face-api pipeline (tiny + dlib-resnet128) runs instead, with one warning
 *    naming `facegate models import`. An encoder named explicitly (a flag) is never replaced: its error stands.
 */
import { verifiedModelFiles } from '../models/pinned-kind.ts';
import type { ModelKind } from '../models/registry.ts';
import type { Identity } from '../store/schema.ts';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { DEFAULT_ENCODER, encoderTraits, FACE_API_DEFAULT_ENCODER } from './encoder-traits.ts';
import type { DetectorName } from './face-types.ts';
import { faceReidModelKind, faceReidSpec, yunetModelKind, yunetSpec } from './graph-model-kinds.ts';

export interface PipelineChoiceInput {
  detector: DetectorName;
  encoder: string;
  modelsDir: string;
  /** The encoder came from a flag: no migration, no fallback. */
  encoderExplicit?: boolean;
  /** The identities of the database the pipeline will match against (omit for a fresh enrollment target). */
  identities?: readonly Identity[];
  /** Download missing YuNet / reid-0095 files (config `recognition.fetchModels`). */
  fetchMissing: boolean;
  /** How a missing kind is downloaded (default: its pinned `fetch`); tests inject an unreachable URL. */
  fetchKind?: (kind: ModelKind, modelsDir: string) => Promise<string>;
}

export interface PipelineNote {
  level: 'info' | 'warn';
  event: 'models-fetched' | 'models-fallback' | 'encoder-migration';
  message: string;
}

export interface PipelineChoice {
  detector: DetectorName;
  encoder: string;
  notes: PipelineNote[];
}

/** Per encoder, how many identities hold encodings of it (an identity holds one encoder's encodings). */
export function encoderCoverage(identities: readonly Identity[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const identity of identities) {
    const enc = identity.encodings[0]?.encoder;
    if (enc) counts.set(enc, (counts.get(enc) ?? 0) + 1);
  }
  return counts;
}

export const REENROLL_HINT =
  'facegate enroll --replace <id> <photos...> (the daemon switches at its next start once the new encoder covers most identities; MQTT enroll-by-capture enrolls with the encoder the daemon runs); there is no "db reenroll": facegate stores no photos to re-encode';

function migrate(input: PipelineChoiceInput, notes: PipelineNote[]): string {
  if (input.encoderExplicit || !input.identities) return input.encoder;
  const coverage = encoderCoverage(input.identities);
  const own = coverage.get(input.encoder) ?? 0;
  let best = input.encoder;
  let bestCount = own;
  for (const [enc, n] of coverage) {
    if (n > bestCount) {
      best = enc;
      bestCount = n;
    }
  }
  if (best === input.encoder) return input.encoder;
  const total = [...coverage.values()].reduce((a, b) => a + b, 0);
  const better = input.encoder === DEFAULT_ENCODER ? 'a better encoder' : 'the configured encoder';
  notes.push({
    level: 'warn',
    event: 'encoder-migration',
    message: `the face database was enrolled with ${best} (${bestCount} of ${total} identities), so ${best} is used; ${better}, ${input.encoder}, is available: re-enroll each person with ${REENROLL_HINT}`,
  });
  return best;
}

async function ensureGraphModels(input: PipelineChoiceInput, notes: PipelineNote[]): Promise<string | null> {
  const kinds: Array<[ModelKind, typeof yunetSpec]> = [
    [yunetModelKind, yunetSpec],
    [faceReidModelKind, faceReidSpec],
  ];
  const missing: Array<[ModelKind, string]> = [];
  for (const [kind, spec] of kinds) {
    await verifiedModelFiles(input.modelsDir, spec).catch((err: unknown) => missing.push([kind, errorMessage(err)]));
  }
  if (missing.length === 0) return null;
  if (!input.fetchMissing) return missing.map(([, why]) => why).join('; ');
  const fetchKind = input.fetchKind ?? ((kind: ModelKind, dir: string) => kind.fetch!(dir));
  try {
    for (const [kind] of missing) await fetchKind(kind, input.modelsDir);
  } catch (err) {
    return `${missing.map(([k]) => k.kind).join(' and ')} missing and not fetched: ${errorMessage(err)}`;
  }
  notes.push({
    level: 'info',
    event: 'models-fetched',
    message: `fetched the ${missing.map(([k]) => k.kind).join(' and ')} model(s) into ${input.modelsDir} (pinned sha256 checked)`,
  });
  return null;
}

export async function choosePipeline(input: PipelineChoiceInput): Promise<PipelineChoice> {
  const notes: PipelineNote[] = [];
  const encoder = migrate(input, notes);
  const fivePoint = encoderTraits(encoder).landmarks === 'five-point';
  if (!fivePoint) {
    return { detector: input.detector === 'yunet' ? 'tiny' : input.detector, encoder, notes };
  }
  if (input.detector !== 'yunet') {
    throw new FacegateError(
      `encoder ${encoder} needs the yunet detector (five keypoints), not ${input.detector}; with ${input.detector} choose --encoder ${FACE_API_DEFAULT_ENCODER} or facenet-nn4small2`,
    );
  }
  const problem = await ensureGraphModels(input, notes);
  if (problem === null) return { detector: 'yunet', encoder, notes };
  if (input.encoderExplicit) throw new FacegateError(problem);
  if (input.identities && (encoderCoverage(input.identities).get(encoder) ?? 0) > 0) {
    // The face-api encoder could match none of these people: refusing is clearer than "no match" for everyone.
    throw new FacegateError(
      `${problem}; the database holds ${encoder} encodings, which only that model can match: install it with "facegate models import yunet <dir>" and "facegate models import face-reid <dir>"`,
    );
  }
  notes.push({
    level: 'warn',
    event: 'models-fallback',
    message: `YuNet/reid-0095 unavailable (${problem}); using the face-api pipeline (tiny + ${FACE_API_DEFAULT_ENCODER}) instead — install them with "facegate models import yunet <dir>" and "facegate models import face-reid <dir>" (or "facegate models fetch ...")`,
  });
  return { detector: 'tiny', encoder: FACE_API_DEFAULT_ENCODER, notes };
}
