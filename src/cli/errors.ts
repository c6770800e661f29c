/**
 * The CLI's one rule for errors, for every command: a FacegateError is one line on stderr and its exit code; a
 * usage mistake (unknown command or flag, missing argument) is one line with the closest spelling, never the whole
 * help; anything else is a bug and gets the stack. With `--json` the same error is one JSON object on stdout,
 * `{"error": "...", "code": N}`, and the exit code is the same.
 */
import { CommanderError } from 'commander';
import { ExitCode, FacegateError } from '../util/errors.ts';

/** Whether the command line asked for JSON (read from argv: a usage error happens before options are parsed). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** commander's "error: unknown command 'enrol'\n(Did you mean enroll?)" as one line of ours. */
export function usageLine(err: CommanderError): string {
  const [first = '', ...rest] = err.message.split('\n');
  const text = first.replace(/^error: /, '');
  const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1];
  if (suggestion) return `${text} — did you mean '${suggestion.replace(/^'|'$/g, '')}'?`;
  if (err.code === 'commander.unknownCommand' || err.code === 'commander.unknownOption') return `${text} (see --help)`;
  return text;
}

/** Prints `err` the CLI's way and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  let message: string;
  let code: number;
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; usage mistakes are exit 2 like any bad input.
    if (err.exitCode === 0) return ExitCode.ok;
    // A command group without its sub-command: commander has already printed that group's help.
    if (err.code === 'commander.help') {
      if (json) process.stdout.write(`${JSON.stringify({ error: 'a sub-command is needed', code: ExitCode.error })}\n`);
      return ExitCode.error;
    }
    message = usageLine(err);
    code = ExitCode.error;
  } else if (err instanceof FacegateError) {
    message = err.message;
    code = err.exitCode;
  } else {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (json) {
      process.stdout.write(`${JSON.stringify({ error: `internal error: ${String(err)}`, code: ExitCode.error })}\n`);
      process.stderr.write(`facegate: internal error: ${detail}\n`);
      return ExitCode.error;
    }
    process.stderr.write(`facegate: internal error: ${detail}\n`);
    return ExitCode.error;
  }
  if (json) process.stdout.write(`${JSON.stringify({ error: message, code })}\n`);
  else process.stderr.write(`facegate: ${message}\n`);
  return code;
}
