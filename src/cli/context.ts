/** The global flags every command may read, typed once. */
import type { Command } from 'commander';
import { type BackendName, parseBackend } from '../runtime/backend-name.ts';

export interface GlobalFlags {
  config?: string;
  db?: string;
  modelsDir?: string;
  backend?: BackendName;
  json: boolean;
}

export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals<{
    config?: string;
    db?: string;
    modelsDir?: string;
    backend?: string;
    json?: boolean;
  }>();
  return {
    config: o.config,
    db: o.db,
    modelsDir: o.modelsDir,
    backend: o.backend ? parseBackend(o.backend) : undefined,
    json: o.json === true,
  };
}

/** Prints either the JSON object or the human line, so every command treats `--json` the same way. */
export function output(flags: GlobalFlags, json: unknown, human: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : `${human}\n`);
}
