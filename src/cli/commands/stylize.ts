/**
 * `facegate stylize <content> --style <name> -o out.png` (fast) and
 * `facegate stylize <content> --method gatys --style-image <img> [...] -o out.png`.
 * Runs in-process (the CLI has nothing else to keep responsive); the daemon uses the worker job API instead.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_GATYS, GATYS_DEFAULT_SIZE } from '../../config/gatys-defaults.ts';
import { vgg19Path } from '../../nst/catalog.ts';
import type { StylizeProgress } from '../../nst/engine.ts';
import { encodeImage, loadImage, type RgbImage } from '../../runtime/image.ts';
import { FacegateError } from '../../util/errors.ts';
import { globalFlags, output } from '../context.ts';
import { cliModelsDir } from '../locations.ts';
import { IterationMeter, iterationBar, iterationLine } from '../progress.ts';

interface StylizeFlags {
  style?: string;
  method: string;
  styleImage?: string;
  iterations: string;
  alpha: string;
  beta: string;
  learningRate: string;
  size?: string;
  vgg?: string;
  every: string;
  saveEvery?: boolean;
  output: string;
}

function positiveNumber(text: string, what: string, integer = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new FacegateError(`${what} must be a ${integer ? 'whole ' : ''}number ≥ 0, got "${text}"`);
  }
  return n;
}

function formatFor(file: string): 'png' | 'jpeg' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new FacegateError(`output ${file}: use a .png, .jpg or .jpeg name`);
}

/** Loading steps and, every --every iterations, the cost's parts (the per-iteration line has the total). */
function detailLine(p: StylizeProgress, every: number): string | undefined {
  if (p.kind === 'iteration' && (p.iteration % every === 0 || p.iteration === 1))
    return `  J_content=${p.Jcontent.toExponential(4)}  J_style=${p.Jstyle.toExponential(4)}`;
  if (p.kind === 'loading') return `loading ${p.what}`;
  return undefined;
}

export function registerStylizeCommands(program: Command): void {
  program
    .command('stylize <content>')
    .description('render a stylized image: fast feed-forward styles, or Gatys optimisation on VGG-19')
    .option('--style <name>', 'fast style name or style directory (see "facegate models list")')
    .option('--method <method>', 'fast | gatys', 'fast')
    .option('--style-image <image>', 'gatys: the style painting')
    .option('--iterations <n>', 'gatys: Adam iterations', String(DEFAULT_GATYS.iterations))
    .option('--alpha <x>', 'gatys: content weight', String(DEFAULT_GATYS.alpha))
    .option('--beta <x>', "gatys: style weight (the exercise's run: 80)", String(DEFAULT_GATYS.beta))
    .option('--learning-rate <x>', 'gatys: Adam learning rate', String(DEFAULT_GATYS.learningRate))
    .option(
      '--size <WxH>',
      `output size (fast: default the content size; gatys: default ${GATYS_DEFAULT_SIZE.width}x${GATYS_DEFAULT_SIZE.height}, inputs scaled to cover it and centre-cropped)`,
    )
    .option('--vgg <file>', 'gatys: imagenet-vgg-verydeep-19.mat (default: <models dir>/vgg19/)')
    .option(
      '--every <n>',
      'gatys: print the cost parts (and save with --save-every) every N iterations; progress is every iteration',
      String(DEFAULT_GATYS.reportEvery),
    )
    .option('--save-every', 'gatys: also save the image every N iterations next to the output')
    .requiredOption('-o, --output <file>', 'output image (.png or .jpg)')
    .action(async (contentFile: string, opts: StylizeFlags, cmd: Command) => {
      // Loaded on use: tfjs and the style networks are not needed by any other command.
      const { parseSize, runStylize } = await import('../../nst/engine.ts');
      const flags = globalFlags(cmd);
      if (opts.method !== 'fast' && opts.method !== 'gatys')
        throw new FacegateError(`unknown method "${opts.method}" (fast or gatys)`);
      const format = formatFor(opts.output);
      const modelsDir = await cliModelsDir(cmd);
      const content = await loadImage(contentFile);
      let styleImage: RgbImage | undefined;
      if (opts.method === 'gatys') {
        if (!opts.styleImage) throw new FacegateError('--method gatys needs --style-image <image>');
        styleImage = await loadImage(opts.styleImage);
      } else if (!opts.style) {
        throw new FacegateError('--style <name> is required for the fast method (see "facegate models list")');
      }
      const tty = process.stderr.isTTY && !flags.json;
      const every = Math.max(1, positiveNumber(opts.every, '--every', true));
      const meter = new IterationMeter();
      const started = performance.now();
      const ext = path.extname(opts.output);
      const image = await runStylize(
        content,
        {
          method: opts.method,
          style: opts.style,
          styleImage,
          modelsDir,
          vggFile: opts.vgg ? path.resolve(opts.vgg) : vgg19Path(modelsDir),
          size: opts.size ? parseSize(opts.size) : undefined,
          iterations: positiveNumber(opts.iterations, '--iterations', true),
          alpha: positiveNumber(opts.alpha, '--alpha'),
          beta: positiveNumber(opts.beta, '--beta'),
          learningRate: positiveNumber(opts.learningRate, '--learning-rate'),
          reportEvery: every,
          backend: flags.backend,
        },
        {
          onProgress: (p) => {
            if (flags.json) return;
            if (p.kind === 'iteration') {
              const rate = meter.tick(p.iteration, p.total);
              if (tty) {
                // One bar redrawn in place; the final state stays on screen.
                process.stderr.write(`\r${iterationBar(p, rate)}\x1b[K${p.iteration === p.total ? '\n' : ''}`);
                return;
              }
              process.stderr.write(`${iterationLine(p, rate)}\n`);
            }
            const line = detailLine(p, every);
            if (line && !(tty && p.kind === 'iteration')) process.stderr.write(`${line}\n`);
          },
          onSnapshot: opts.saveEvery
            ? async (i, img) =>
                writeFile(`${opts.output.slice(0, -ext.length)}-${i}${ext}`, await encodeImage(img, format))
            : undefined,
        },
      );
      await writeFile(opts.output, await encodeImage(image, format));
      const ms = Math.round(performance.now() - started);
      output(
        flags,
        {
          ok: true,
          output: opts.output,
          method: opts.method,
          style: opts.style,
          width: image.width,
          height: image.height,
          ms,
        },
        `wrote ${opts.output} (${image.width}x${image.height}, ${opts.method}${opts.style ? ` ${opts.style}` : ''}, ${ms} ms)`,
      );
    });
}
