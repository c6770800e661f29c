/**
 * The `facegate` command line. Each command group lives in its own file under `commands/` and registers itself
 * here; this file only owns the global flags and the one rule for errors: a FacegateError is one line on stderr
 * and its exit code, anything else is a bug and gets the stack.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, FacegateError } from '../util/errors.ts';
import { commandGroups } from './commands/index.ts';
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
    .showHelpAfterError()
    .exitOverride();
  for (const register of commandGroups) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; usage mistakes are exit 2 like any bad input.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.error;
    }
    if (err instanceof FacegateError) {
      process.stderr.write(`facegate: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(
      `facegate: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return ExitCode.error;
  }
}

const code = await main(process.argv);
// Long-running commands (run) keep the process alive and exit from their signal handlers; the rest exit when done.
if (!processKeptAlive()) process.exit(code);
