/**
 * The `facegate` command line. Each command group lives in its own file under `commands/` and registers itself
 * here; this file only owns the global flags; errors are printed by errors.ts (one line, or JSON with --json) and
 * help conventions (global options everywhere, examples) apply to every command.
 */
import { Command } from 'commander';
import { ExitCode } from '../util/errors.ts';
import { commandGroups } from './commands/index.ts';
import { reportError, wantsJson } from './errors.ts';
import { addExamples } from './examples.ts';
import { processKeptAlive } from './keep-alive.ts';

export function buildProgram(): Command {
  const program = new Command('facegate')
    .description('Edge kiosk daemon for door access: badge-plus-face verification, relay, MQTT, welcome portraits')
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

const code = await main(process.argv);
// Long-running commands (run) keep the process alive and exit from their signal handlers; the rest exit when done.
if (!processKeptAlive()) process.exit(code);
