/**
 * `facegate bench <area>`: benchmarks whose figures go to bench/RESULTS.md. Each area's code lives in
 * `bench/<area>.ts`; add further subcommands here (recognition, facenet, e2e, audit-log).
 */
import type { Command } from 'commander';
import { resolveModelsDir } from '../../models/paths.ts';
import type { FastParts } from '../../nst/fast/split.ts';
import { FacegateError } from '../../util/errors.ts';
import { defaultSharedDir } from '../../util/shared-dir.ts';
import { globalFlags, output } from '../context.ts';

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('measure speed and memory (figures for bench/RESULTS.md)');
  // Each area's code is imported only when its benchmark runs, so everyday commands start fast.
  bench
    .command('recognition')
    .description(
      'one 640x480 frame: detect, landmarks, encode, match (p50/p95), vs stock face-api; 1:N at 1k/10k/100k; RSS',
    )
    .option('--runs <n>', 'timed runs after warm-up (at least 20)', '20')
    .option('--shared <dir>', 'the shared test data directory', defaultSharedDir())
    .action(async (opts: { runs: string; shared: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      const { benchRecognition } = await import('../../../bench/recognition.ts');
      const r = await benchRecognition({
        sharedDir: opts.shared,
        backend: flags.backend ?? 'auto',
        runs: Number(opts.runs) || 20,
        modelsDir: flags.modelsDir,
        log: flags.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
      output(
        flags,
        r,
        `recognition (${r.backend}): default yunet + reid-0095 frame p50 ${r.yunet.p50Ms} ms p95 ${r.yunet.p95Ms} ms ` +
          `(detect ${r.yunet.detect.p50Ms}, align ${r.yunet.align.p50Ms}, encode ${r.yunet.encode.p50Ms}), ${r.ratioYunetToFaceApi}x the face-api pipeline's; ` +
          `face-api kiosk frame p50 ${r.frame.p50Ms} ms p95 ${r.frame.p95Ms} ms at detector input ${r.frame.tinyInputSize} ` +
          `(detect ${r.frame.detect.p50Ms}, landmarks ${r.frame.landmarks.p50Ms}, encode ${r.frame.encode.p50Ms}, match ${r.frame.match.p50Ms}); ` +
          `stock call (SSD default) ${r.stock.p50Ms} ms, ratio ${r.ratioToStock}; at 416 ours ${r.photoSetting.p50Ms} ms vs stock ${r.stockSameDetector.p50Ms} ms, ratio ${r.ratioToStockSameDetector}; ` +
          `identify 1k/10k/100k ${r.identify['1000']}/${r.identify['10000']}/${r.identify['100000']} ms; RSS ${r.rssMB} MB`,
      );
    });
  bench
    .command('facenet')
    .description('FaceNet nn4.small2: embed-only time for one 96x96 crop (median of 20 after warm-up)')
    .option('--runs <n>', 'timed runs', '20')
    .action(async (opts: { runs: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      const { benchFacenet } = await import('../../../bench/facenet.ts');
      const r = await benchFacenet({
        runs: Number(opts.runs) || 20,
        backend: flags.backend ?? 'auto',
        modelsDir: resolveModelsDir(flags.modelsDir),
      });
      output(
        flags,
        r,
        `facenet-nn4small2 (${r.backend}, ${r.weights} weights): embed p50 $r.embedP50Msms, p95 $r.embedP95Msms over $r.runsruns`,
      );
    });
  bench
    .command('nst')
    .description('style transfer: fast style at 400x300 and 640x480, one Gatys VGG-19 iteration at 400x300')
    .option('--style <name>', 'fast style to time', 'udnie')
    .option('--runs <n>', 'timed fast runs at 400x300 (half as many at 640x480)', '5')
    .option('--gatys-iterations <n>', 'timed Gatys iterations', '3')
    .option('--skip-gatys', 'fast styles only')
    .option('--fast-parts <n>', 'fast style bands: 1, 2 or auto (2 unless the second core is busy)', 'auto')
    .action(
      async (
        opts: { style: string; runs: string; gatysIterations: string; skipGatys?: boolean; fastParts: string },
        cmd: Command,
      ) => {
        const flags = globalFlags(cmd);
        const { benchNst } = await import('../../../bench/nst.ts');
        const result = await benchNst({
          modelsDir: resolveModelsDir(flags.modelsDir),
          style: opts.style,
          backend: flags.backend ?? 'wasm',
          fastRuns: Math.max(1, Number(opts.runs) || 5),
          gatysIterations: Math.max(1, Number(opts.gatysIterations) || 3),
          skipGatys: opts.skipGatys === true,
          fastParts: parseFastParts(opts.fastParts),
          log: flags.json ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        const vs = result.fast.vsPlain
          .map(
            (r) =>
              `${r.size} ${r.facegateMs} ms vs plain ${r.plainMs} ms = ${r.ratio}x (CPU time ${r.cpuRatio}x), ${r.gflops} GFLOPS ` +
              `(${r.ofOneThread} of one thread's ${result.fast.oneThreadGflops}), bands ${r.bands.join(',')}, ` +
              `max |diff| ${r.maxAbsDiff}, plain peak RSS ${r.plainPeakRssMB} MB`,
          )
          .join('; ');
        output(
          flags,
          result,
          `nst (${result.backend}): fast ${result.fast.style} ${vs}; peak RSS ${result.fast.peakRssMB} MB; ` +
            `gatys 400x300 ${result.gatys['400x300IterMs'] ?? '-'} ms/iteration`,
        );
      },
    );
  bench
    .command('e2e')
    .description(
      'the running daemon on a replayed face clip: capture→decision latency, analysed fps, drops, event-loop lag, RSS',
    )
    .option('--source <kind>', 'clip source: dir | video', 'dir')
    .option('--duration <s>', 'measured seconds (the issue asks for 600)', '60')
    .option('--shared <dir>', 'the shared test data directory', defaultSharedDir())
    .option('--pipeline <name>', 'default (yunet + reid-0095) | face-api (tiny + dlib-resnet128)', 'default')
    .option('--anti-spoofing <mode>', 'door.antiSpoofing.mode for the run: off | passive | active | both', 'off')
    .action(
      async (
        opts: { source: string; duration: string; shared: string; pipeline: string; antiSpoofing: string },
        cmd: Command,
      ) => {
        const modes = ['off', 'passive', 'active', 'both'] as const;
        const antiSpoofing = modes.find((m) => m === opts.antiSpoofing);
        if (!antiSpoofing)
          throw new FacegateError(`--anti-spoofing ${opts.antiSpoofing}: expected ${modes.join(', ')}`);
        const flags = globalFlags(cmd);
        const { benchE2e } = await import('../../../bench/e2e.ts');
        const r = await benchE2e({
          sharedDir: opts.shared,
          source: opts.source === 'video' ? 'video' : 'dir',
          durationS: Math.max(5, Number(opts.duration) || 60),
          backend: flags.backend ?? 'auto',
          pipeline: opts.pipeline === 'face-api' ? 'face-api' : 'default',
          modelsDir: flags.modelsDir,
          antiSpoofing,
          log: flags.json ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        output(
          flags,
          r,
          `e2e (${r.pipeline}, ${r.backend}, ${r.source}, ${r.durationS} s, anti-spoofing ${antiSpoofing}): decision latency p50 ${r.latency.p50Ms} ms p95 ${r.latency.p95Ms} ms ` +
            `(${r.latency.decisions} decisions); frame latency p50 ${r.frameLatency.p50Ms} ms; ${r.analysedFps} analysed fps; ` +
            `${r.droppedFrames} dropped of ${r.capturedFrames}; event-loop lag p99 ${r.eventLoopLagP99Ms} ms; RSS ${r.rssMB} MB`,
        );
      },
    );
  bench
    .command('audit-log')
    .description('generate a 1 M-record access log in a temp dir and time `facegate log --since 1h` on it')
    .option('--records <n>', 'records to generate', '1000000')
    .option('--runs <n>', 'timed queries (median)', '7')
    .action(async (opts: { records: string; runs: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      const { benchAuditLog } = await import('../../../bench/audit-log.ts');
      const r = await benchAuditLog({
        records: Math.max(1000, Number(opts.records) || 1_000_000),
        runs: Math.max(3, Number(opts.runs) || 7),
        log: flags.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
      output(
        flags,
        r,
        `audit-log: ${r.records} records, ${r.segments} segments, ${r.sizeMB} MB written in ${r.writeSeconds} s; ` +
          `--since 1h (${r.since1h.matched} records): ${r.since1h.inProcessMedianMs} ms in process, ` +
          `${r.since1h.freshProcessQueryMedianMs} ms in a fresh process (${r.since1h.freshProcessTotalMedianMs} ms with start-up)`,
      );
    });
}

function parseFastParts(value: string): FastParts {
  if (value === 'auto') return 'auto';
  if (value === '1' || value === '2') return Number(value) as 1 | 2;
  throw new FacegateError(`--fast-parts must be 1, 2 or auto, got "${value}"`);
}
