/**
 * The `facegate` command line. Each command group lives in its own file under `commands/` and registers itself
 * here; this file only owns the global flags; errors are printed by errors.ts (one line, or JSON with --json) and
 * help conventions (global options everywhere, examples) apply to every command.
 */
import { Command } from 'commander';
import { ExitCode } from '../util/errors.ts';
import { facegateVersion } from '../util/version.ts';
import { commandGroups } from './commands/index.ts';
import { reportError, wantsJson } from './errors.ts';
import { addExamples } from './examples.ts';

export function buildProgram(): Command {
  const program = new Command('facegate')
    .description('Edge kiosk daemon for door access: badge-plus-face verification, relay, MQTT, welcome portraits')
    .version(facegateVersion(), '-V, --version', 'print the version of facegate')
    .option(
      '--config <file>',
      'YAML config file (also FACEGATE_CONFIG; default: /etc/facegate/config.yaml if present, else embedded defaults)',
    )
    .option(
      '--data-dir <dir>',
      'data directory: database, audit log, journals (also FACEGATE_DATA_DIR; default: data.dir, else /var/lib/facegate when /etc/facegate/config.yaml exists, else ./data)',
    )
    .option('--db <file>', 'face database file (default: <data dir>/faces.json)')
    .option('--models-dir <dir>', 'where imported and downloaded weights live (also FACEGATE_MODELS_DIR)')
    .option('--backend <name>', 'tfjs backend: auto | tensorflow | wasm | cpu')
    .option('--json', 'machine-readable output')
    // Global options in every sub-command's help; usage errors are printed by main() as one line.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const register of commandGroups) register(program);
  addExamples(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    return reportError(err, wantsJson(argv));
  }
}

// Every command exits when its action returns; `run` returns only once a signal has stopped the daemon.
process.exit(await main(process.argv));
