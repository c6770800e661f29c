/**
 * The `facegate` command line. Each command group lives in its own file under `commands/` and registers itself
 * here; this file only owns the global flags and the one rule for errors: a FacegateError is one line on stderr
 * and its exit code, anything else is a bug and gets the stack.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, FacegateError } from '../util/errors.ts';
import { facegateVersion } from '../util/version.ts';
import { commandGroups } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('facegate')
    .description('Edge kiosk daemon for door access: badge-plus-face verification, relay, MQTT, welcome portraits')
    .version(facegateVersion(), '-V, --version', 'print the version of facegate')
    .option(
      '--config <file>',
      'YAML config file (default: /etc/facegate/config.yaml if present, else embedded defaults)',
    )
    .option('--db <file>', 'face database file (default: data/faces.json)')
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

// Every command exits when its action returns; `run` returns only once a signal has stopped the daemon.
process.exit(await main(process.argv));
