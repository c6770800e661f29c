/**
 * `facegate run`: the kiosk daemon. Flags mirror the main config keys so a site can start without writing YAML;
 * they win over the config file, which wins over the embedded defaults.
 */
import type { Command } from 'commander';
import { faceDbFile } from '../../config/locations.ts';
import type { ConfigOverrides, FacegateConfig } from '../../config/schema.ts';
import type { GuardedProcess } from '../../daemon/lifecycle.ts';
import { globalFlags } from '../context.ts';
import { firstRunHint } from '../first-run.ts';

interface RunFlags {
  camera?: string;
  badge?: string;
  relay?: string;
  mode?: string;
  kioskId?: string;
  logLevel?: string;
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
    data: { dir: global.dataDir, dbFile: global.db },
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
      // Imported here, not at the top: every other command would otherwise load the whole daemon.
      const [{ loadConfig }, { compose }, { createLogger }] = await Promise.all([
        import('../../config/load.ts'),
        import('../../daemon/compose.ts'),
        import('../../daemon/logger.ts'),
      ]);
      const { config, file } = await loadConfig(global.config, runOverrides(flags, global));
      const logger = createLogger({ level: config.logging.level, base: { kioskId: config.kioskId } });
      const database = faceDbFile(config.data);
      logger.info(
        { event: 'config', file: file ?? '(embedded defaults)', database },
        `config: ${file ?? 'embedded defaults'}; database: ${database}`,
      );
      let displayUrl: string | null = null;
      const daemon = await compose(config, {
        logger,
        guardProcess: process as unknown as GuardedProcess,
        onDisplayUrl: (url) => {
          displayUrl = url;
        },
      });
      const hint = firstRunHint({
        terminal: process.stdin.isTTY === true && process.stdout.isTTY === true,
        stdinBadges: config.badge.sources.includes('stdin'),
        displayUrl,
      });
      if (hint) logger.info({ event: 'hint' }, hint);
      // The command lasts as long as the daemon: until a signal has stopped it, then main() exits with its code.
      process.exitCode = await daemon.exited;
    });
}
