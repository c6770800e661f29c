/**
 * `facegate pad <image...> [--json]`: passive anti-spoofing on photos — is the largest face in each image a live
 * person (fused MiniFASNet P(real) ≥ threshold) or a presentation attack (a print, a screen)?
 * `--json` prints `{"file","face","score","live","threshold"}` per image (an array for several images).
 * Exit 0 when every image is live, 1 when any is not (or has no face), 2 on bad input (one line, nothing scored).
 * Scores whole camera-like images: the networks need the face's surroundings (see pad-scorer.ts).
 */
import type { Command } from 'commander';
import { resolveModelsDir } from '../../models/paths.ts';
import { DEFAULT_MAX_PIXELS, type RgbImage } from '../../runtime/image.ts';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { globalFlags } from '../context.ts';
import { cliConfig } from '../recognition-setup.ts';

export interface PadResult {
  file: string;
  face: boolean;
  score: number | null;
  live: boolean;
  threshold: number;
}

function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new FacegateError(`threshold "${value}" must be from 0 to 1`);
  return n;
}

export function padLine(r: PadResult): string {
  if (!r.face) return `${r.file}: no face found (not live)`;
  const s = r.score!.toFixed(3);
  return r.live
    ? `${r.file}: live (P(real) ${s} ≥ ${r.threshold})`
    : `${r.file}: spoof suspected (P(real) ${s} < ${r.threshold})`;
}

export function registerPadCommand(program: Command): void {
  program
    .command('pad <images...>')
    .description('anti-spoofing: is the largest face in each photo live, or a print/screen? (exit 0 all live, 1 not)')
    .option('--threshold <p>', 'P(real) needed to count as live (default: door.antiSpoofing.threshold)', rate)
    .action(async (files: string[], opts: { threshold?: number }, cmd: Command) => {
      const flags = globalFlags(cmd);
      const config = await cliConfig(cmd);
      const threshold = opts.threshold ?? config.door.antiSpoofing.threshold;
      const { loadImage } = await import('../../runtime/image.ts');
      // Every image first: a bad file is one line at once, before seconds of model loading.
      const images: RgbImage[] = [];
      for (const file of files) images.push(await loadImage(file, { maxPixels: DEFAULT_MAX_PIXELS }));
      const { PadScorer } = await import('../pad-scorer.ts');
      const scorer = await PadScorer.open(resolveModelsDir(flags.modelsDir, config.recognition.modelsDir ?? undefined));
      const results: PadResult[] = [];
      try {
        for (const [i, image] of images.entries()) {
          const { face, score } = await scorer.score(image);
          results.push({ file: files[i]!, face, score, live: score !== null && score >= threshold, threshold });
        }
      } finally {
        scorer.dispose();
      }
      const json = results.length === 1 ? results[0] : results;
      process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : `${results.map(padLine).join('\n')}\n`);
      process.exitCode = results.every((r) => r.live) ? ExitCode.ok : ExitCode.noMatch;
    });
}
