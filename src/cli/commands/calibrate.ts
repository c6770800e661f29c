/**
 * `facegate calibrate <dir> [--target-far F] [--json]`: an operator's own photos, one folder per person
 * (`<dir>/<person>/<photo>.jpg|png`), through the recognition pipeline → genuine and impostor distance
 * distributions, the equal-error rate and the threshold for a target false-accept rate, in the encoder's metric.
 * The shipped thresholds were measured on public photos (which include public figures); a site should check them
 * on its own people. `calibrate pad <bona fide dir> <attack dir>` does the same for anti-spoofing (calibrate-pad.ts).
 * Heavy modules (tfjs, models) load inside the action, so `--help` stays light.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FacegateError } from '../../util/errors.ts';
import { globalFlags, output } from '../context.ts';
import { cliConfig, cliModelsDir } from '../locations.ts';
import {
  metricName,
  openPipeline,
  type RecognitionFlags,
  recognitionOptions,
  thresholdFor,
} from '../recognition-setup.ts';

const IMAGE = /\.(jpe?g|png|webp)$/i;
/** Bounds on hostile or mistaken input (a whole photo library): pairs grow with the square of the photos. */
const MAX_PEOPLE = 1000;
const MAX_PHOTOS = 2000;

function rateFlag(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new FacegateError(`--target-far must be a rate between 0 and 1, got "${value}"`);
  return n;
}

async function labelledPhotos(dir: string): Promise<Array<{ person: string; file: string }>> {
  let people: Dirent[];
  try {
    people = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory());
  } catch (err) {
    throw new FacegateError(`${dir}: cannot read the folder (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (people.length > MAX_PEOPLE) throw new FacegateError(`${dir}: more than ${MAX_PEOPLE} person folders`);
  const photos: Array<{ person: string; file: string }> = [];
  for (const p of people.sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(path.join(dir, p.name))).filter((f) => IMAGE.test(f)).sort();
    for (const f of files) photos.push({ person: p.name, file: path.join(dir, p.name, f) });
    if (photos.length > MAX_PHOTOS) throw new FacegateError(`${dir}: more than ${MAX_PHOTOS} photos`);
  }
  return photos;
}

const pct = (r: number) => `${(r * 100).toFixed(2)} %`;

export function registerCalibrateCommand(program: Command): void {
  recognitionOptions(
    program
      .command('calibrate <dir> [more...]')
      .description(
        'error rates on your own photos (a folder per person): genuine/impostor distances, EER, threshold at a target FAR',
      )
      .option('--target-far <rate>', 'false-accept rate the suggested threshold must meet (default 0.001)', rateFlag)
      .option(
        '--target-bpcer <rate>',
        '`calibrate pad`: bona-fide refusal rate the suggested threshold may reach (default 0.05)',
        rateFlag,
      ),
  ).action(
    async (
      dir: string,
      more: string[],
      opts: RecognitionFlags & { targetFar?: number; targetBpcer?: number },
      cmd: Command,
    ) => {
      if (dir === 'pad') {
        const [bonaDir, attackDir, ...extra] = more;
        if (!bonaDir || !attackDir || extra.length > 0)
          throw new FacegateError('usage: facegate calibrate pad <bona-fide dir> <attack dir>');
        const flags = globalFlags(cmd);
        const { calibratePad, calibratePadText } = await import('./calibrate-pad.ts');
        const report = await calibratePad(bonaDir, attackDir, {
          threshold: (await cliConfig(cmd)).door.antiSpoofing.threshold,
          targetBpcer: opts.targetBpcer ?? 0.05,
          modelsDir: await cliModelsDir(cmd),
        });
        output(flags, report, calibratePadText(report));
        return;
      }
      if (more.length > 0) throw new FacegateError(`calibrate takes one folder, got extra argument "${more[0]}"`);
      const flags = globalFlags(cmd);
      const photos = await labelledPhotos(dir);
      const people = new Set(photos.map((p) => p.person));
      if (people.size < 2) throw new FacegateError(`${dir}: needs at least two person folders with photos`);
      const [{ loadImage }, { calibrationReport, pairDistances }] = await Promise.all([
        import('../../runtime/image.ts'),
        import('../../recognition/calibrate-pairs.ts'),
      ]);
      const pipeline = await openPipeline(cmd, opts);
      const encoderId = pipeline.encoder.id;
      const samples: Array<{ person: string; descriptor: Float32Array }> = [];
      const missed: string[] = [];
      for (const photo of photos) {
        const image = await loadImage(photo.file, { maxPixels: opts.maxPixels }).catch(() => null);
        const face = image && (await pipeline.analyse(image, { noDetect: opts.detect === false })).faces[0];
        if (face) samples.push({ person: photo.person, descriptor: face.descriptor });
        else missed.push(path.relative(dir, photo.file));
      }
      pipeline.dispose();
      const pairs = pairDistances(samples, encoderId);
      if (pairs.genuine.length === 0 || pairs.impostor.length === 0) {
        throw new FacegateError(
          `${dir}: needs two photos with a face of at least one person and faces of two people (got ${pairs.genuine.length} genuine, ${pairs.impostor.length} impostor pairs)`,
        );
      }
      const threshold = await thresholdFor(cmd, pipeline.encoder, opts);
      const targetFar = opts.targetFar ?? 0.001;
      const report = calibrationReport(pairs, targetFar, threshold);
      const metric = metricName(encoderId);
      const d = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
      const dist = (name: string, s: typeof report.genuine) =>
        `${name}: ${s.count} pairs, min ${d(s.min)}  p5 ${d(s.p05)}  median ${d(s.median)}  p95 ${d(s.p95)}  max ${d(s.max)}`;
      const human = [
        `${encoderId} (${pipeline.detector}), ${metric}: ${samples.length} of ${photos.length} photos encoded, ${people.size} people${missed.length ? `; no face in: ${missed.join(', ')}` : ''}`,
        dist('genuine ', report.genuine),
        dist('impostor', report.impostor),
        `EER ${pct(report.eer.eer)} at threshold ${d(report.eer.threshold)} (FAR ${report.eer.falseAccepts}/${report.eer.impostorPairs}, FRR ${report.eer.falseRejects}/${report.eer.genuinePairs})`,
        `for FAR ≤ ${targetFar}: threshold ${d(report.atTargetFar.threshold)} (accept when distance < it) → FAR ${report.atTargetFar.falseAccepts}/${report.atTargetFar.impostorPairs}, FRR ${report.atTargetFar.falseRejects}/${report.atTargetFar.genuinePairs} (${pct(report.atTargetFar.frr)})${targetFar < report.smallestMeasurableFar ? `; note: ${report.impostor.count} impostor pairs cannot measure a FAR below ${report.smallestMeasurableFar.toExponential(1)}` : ''}`,
        `at the threshold in force ${threshold}: FAR ${pct(report.atThreshold.far)} (${report.atThreshold.falseAccepts}/${report.atThreshold.impostorPairs}), FRR ${pct(report.atThreshold.frr)} (${report.atThreshold.falseRejects}/${report.atThreshold.genuinePairs})`,
      ].join('\n');
      output(
        flags,
        {
          encoder: encoderId,
          detector: pipeline.detector,
          metric: pipeline.encoder.metric ?? 'euclidean',
          people: people.size,
          photos: photos.length,
          encoded: samples.length,
          missed,
          threshold,
          ...report,
          distances: pairs,
        },
        human,
      );
    },
  );
}
