/**
 * `facegate calibrate pad <bona-fide dir> <attack dir> [--json]` (the `calibrate` command wires it): scores every
 * image of both folders like `facegate pad` and reports, so an operator can tune `door.antiSpoofing.threshold` on
 * captures from their own camera: APCER / BPCER at the current threshold, the ROC points (every achievable
 * operating point), and the threshold meeting a chosen BPCER with the lowest APCER (recognition/calibrate.ts).
 * An image with no face counts as refused (score 0): for bona fide that is a refusal the door would make too.
 * Unreadable files are bad input (one line, exit 2), not silently skipped.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type PadPoint, padRates, padRoc, thresholdForBpcer } from '../../recognition/calibrate.ts';
import type { RgbImage } from '../../runtime/image.ts';
import { FacegateError } from '../../util/errors.ts';
import type { PadImageScore } from '../pad-scorer.ts';

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

export interface CalibratePadOptions {
  /** The threshold in force (door.antiSpoofing.threshold). */
  threshold: number;
  /** BPCER the operator accepts (0..1), for the suggested threshold. */
  targetBpcer: number;
  /** Scores one image; default: a PadScorer on `modelsDir`. */
  scorer?: { score(image: RgbImage): Promise<PadImageScore>; dispose?(): void };
  modelsDir?: string;
  /** Loads one image (default: runtime/image.ts loadImage). */
  load?: (file: string) => Promise<RgbImage>;
}

export interface CalibratePadReport {
  threshold: number;
  atThreshold: PadPoint;
  targetBpcer: number;
  suggested: PadPoint;
  roc: PadPoint[];
  noFace: { bonaFide: number; attack: number };
  files: { bonaFide: number; attack: number };
}

async function imagesIn(dir: string, label: string): Promise<string[]> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new FacegateError(`${label} ${dir} is not a directory`);
  const files = (await readdir(dir)).filter((f) => IMAGE_EXT.test(f)).sort();
  if (files.length === 0) throw new FacegateError(`${label} ${dir} holds no .jpg, .png or .webp image`);
  return files.map((f) => path.join(dir, f));
}

export async function calibratePad(
  bonaDir: string,
  attackDir: string,
  opts: CalibratePadOptions,
): Promise<CalibratePadReport> {
  if (!(opts.targetBpcer >= 0 && opts.targetBpcer <= 1)) {
    throw new FacegateError(`BPCER target ${opts.targetBpcer} must be a rate from 0 to 1`);
  }
  const sets = {
    bonaFide: await imagesIn(bonaDir, 'bona-fide folder'),
    attack: await imagesIn(attackDir, 'attack folder'),
  };
  const load = opts.load ?? (await import('../../runtime/image.ts')).loadImage;
  let scorer = opts.scorer;
  if (!scorer) {
    const { PadScorer } = await import('../pad-scorer.ts');
    scorer = await PadScorer.open(opts.modelsDir ?? 'models');
  }
  const scores = { bonaFide: [] as number[], attack: [] as number[] };
  const noFace = { bonaFide: 0, attack: 0 };
  try {
    for (const key of ['bonaFide', 'attack'] as const) {
      for (const file of sets[key]) {
        const r = await scorer.score(await load(file));
        if (r.score === null) noFace[key]++;
        scores[key].push(r.score ?? 0);
      }
    }
  } finally {
    if (!opts.scorer) scorer.dispose?.();
  }
  return {
    threshold: opts.threshold,
    atThreshold: padRates(scores.bonaFide, scores.attack, opts.threshold),
    targetBpcer: opts.targetBpcer,
    suggested: thresholdForBpcer(scores.bonaFide, scores.attack, opts.targetBpcer),
    roc: padRoc(scores.bonaFide, scores.attack),
    noFace,
    files: { bonaFide: sets.bonaFide.length, attack: sets.attack.length },
  };
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)} % (${n}/${d})`;
const thr = (t: number) => (Number.isFinite(t) ? t.toFixed(4) : 'refuse everything');

/** The report for a terminal: the rates now, the suggestion, and the ROC as a small table. */
export function calibratePadText(r: CalibratePadReport): string {
  const a = r.atThreshold;
  const s = r.suggested;
  const lines = [
    `${r.files.bonaFide} bona-fide and ${r.files.attack} attack images (no face found: ${r.noFace.bonaFide} bona fide, ${r.noFace.attack} attack; counted as refused)`,
    `at threshold ${r.threshold}: APCER ${pct(a.attacksAccepted, a.attacks)}, BPCER ${pct(a.bonaFideRefused, a.bonaFide)}`,
    `BPCER ≤ ${(100 * r.targetBpcer).toFixed(1)} %: threshold ${thr(s.threshold)} → APCER ${pct(s.attacksAccepted, s.attacks)}, BPCER ${pct(s.bonaFideRefused, s.bonaFide)}`,
    'ROC (threshold: APCER / BPCER):',
    ...r.roc.map((p) => `  ${thr(p.threshold)}: ${(100 * p.apcer).toFixed(1)} % / ${(100 * p.bpcer).toFixed(1)} %`),
  ];
  return lines.join('\n');
}
