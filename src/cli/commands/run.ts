/**
 * `facegate run`: the kiosk daemon. Flags mirror the main config keys so a site can start without writing YAML;
 * they win over the config file, which wins over the embedded defaults.
 */
import type { Command } from 'commander';
import type { ConfigOverrides, FacegateConfig } from '../../config/schema.ts';
import type { GuardedProcess } from '../../daemon/lifecycle.ts';
import { globalFlags } from '../context.ts';
import { keepProcessAlive } from '../keep-alive.ts';

interface RunFlags {
  camera?: string;
  badge?: string;
  relay?: string;
  mode?: string;
  kioskId?: string;
  logLevel?: string;
  dataDir?: string;
  fps?: string;
  unlockPulseMs?: string;
  failSafe?: boolean;
  mqtt?: string;
  httpPort?: string;
  antiSpoofing?: string;
}

/** A number flag stays a string when it is not one, so the schema reports it like any other bad value. */
function numberOrRaw(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && value.trim() !== '' ? n : (value as unknown as number);
}

export function runOverrides(flags: RunFlags, global: ReturnType<typeof globalFlags>): ConfigOverrides {
  return {
    kioskId: flags.kioskId,
    camera: { source: flags.camera, fps: numberOrRaw(flags.fps) },
    badge: {
      sources: flags.badge
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    door: {
      relay: flags.relay,
      // Any string: the schema refuses unknown modes with the list of valid ones.
      mode: flags.mode as FacegateConfig['door']['mode'] | undefined,
      unlockPulseMs: numberOrRaw(flags.unlockPulseMs),
      failSafe: flags.failSafe,
      // Any string: the schema refuses unknown modes with the list of valid ones.
      // Only the mode: the rest of the section merges from the file (undefined values are skipped).
      antiSpoofing: { mode: flags.antiSpoofing } as FacegateConfig['door']['antiSpoofing'],
    },
    logging: { level: flags.logLevel as FacegateConfig['logging']['level'] | undefined },
    data: { dir: flags.dataDir, dbFile: global.db },
    recognition: { backend: global.backend, modelsDir: global.modelsDir },
    // `--mqtt none` turns the bridge off; any other value is the broker URL (checked by the schema).
    mqtt: flags.mqtt === 'none' ? { enabled: false } : { url: flags.mqtt },
    http: { port: numberOrRaw(flags.httpPort) },
  };
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the kiosk daemon: camera → face verification → door relay (what `npm start` runs)')
    .option('--camera <spec>', 'v4l2:/dev/video0 | webcam:<device> | video:<file> | dir:<folder>')
    .option('--badge <sources>', 'badge sources, comma-separated: stdin | evdev:<device> | mqtt | none')
    .option('--relay <spec>', 'simulated[:<record file>] | onoff:<gpio> | gpiod:<chip>:<line>')
    .option('--mode <mode>', 'badge+face | face | badge')
    .option('--kiosk-id <id>', 'this kiosk’s id (MQTT topics, fleet records)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .option('--data-dir <dir>', 'writable data directory (database, journals)')
    .option('--fps <n>', 'camera frames per second')
    .option('--unlock-pulse-ms <ms>', 'how long a grant unlocks the door')
    .option('--fail-safe', 'unlock on failure/exit (maglocks with fire release); default fail-secure')
    .option(
      '--mqtt <url>',
      'broker URL (mqtt://host:1883, mqtts://...), or none; default: an embedded broker on 127.0.0.1',
    )
    .option('--anti-spoofing <mode>', 'off | passive (MiniFASNet) | active (head-turn/blink challenge) | both')
    .option('--http-port <n>', 'port of the kiosk page, /healthz and /metrics on 127.0.0.1 (default 8080)')
    .action(async (flags: RunFlags, cmd: Command) => {
      const global = globalFlags(cmd);
      // A daemon runs for months: it gives up Node's source-map support (tsx turns it on), which would keep every
      // loaded module's source map in memory. Errors are logged as messages; stacks point at transpiled lines.
      process.setSourceMapsEnabled(false);
      // Imported here, not at the top: every other command would otherwise load the whole daemon.
      const [
        { loadConfig },
        { Controller },
        { featureModules },
        { createLogger },
        { createMetrics },
        { signalExitCode },
      ] = await Promise.all([
        import('../../config/load.ts'),
        import('../../daemon/controller.ts'),
        import('../../daemon/feature-modules.ts'),
        import('../../daemon/logger.ts'),
        import('../../metrics/metrics.ts'),
        import('../../daemon/lifecycle.ts'),
      ]);
      const { config, file } = await loadConfig(global.config, runOverrides(flags, global));
      const logger = createLogger({ level: config.logging.level, base: { kioskId: config.kioskId } });
      logger.info({ event: 'config', file: file ?? '(embedded defaults)' }, `config: ${file ?? 'embedded defaults'}`);
      const metrics = createMetrics();
      const controller = await Controller.start({
        config,
        logger,
        modules: featureModules(config, metrics),
        guardProcess: process as unknown as GuardedProcess,
        onSignalShutdown: (signal) => {
          metrics.close();
          process.exit(signalExitCode(signal));
        },
      });
      metrics.observeFrames(() => ({
        captured: controller.framesCaptured,
        analysed: controller.analyser.analysedFrames ?? 0,
        dropped: controller.analyser.droppedFrames,
      }));
      // Started: stay alive on the camera, timers and sockets until a signal.
      keepProcessAlive();
    });
}
