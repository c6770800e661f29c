/** The global flags every command may read, typed once, and the one way every command prints its result. */
import type { Command } from 'commander';
import { type BackendName, parseBackend } from '../runtime/backend-name.ts';

export interface GlobalFlags {
  config?: string;
  db?: string;
  dataDir?: string;
  modelsDir?: string;
  backend?: BackendName;
  json: boolean;
}

export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals<{
    config?: string;
    db?: string;
    dataDir?: string;
    modelsDir?: string;
    backend?: string;
    json?: boolean;
  }>();
  return {
    config: o.config,
    db: o.db,
    dataDir: o.dataDir,
    modelsDir: o.modelsDir,
    backend: o.backend ? parseBackend(o.backend) : undefined,
    json: o.json === true,
  };
}

/** The face database this process opened, named once on stderr and as `database` in every JSON result. */
let usedDatabase: string | null = null;

export function noteDatabase(file: string, flags: GlobalFlags): void {
  if (usedDatabase === file) return;
  usedDatabase = file;
  if (!flags.json) process.stderr.write(`database: ${file}\n`);
}

export function databaseUsed(): string | null {
  return usedDatabase;
}

/** Prints either the JSON object or the human line, so every command treats `--json` the same way. */
export function output(flags: GlobalFlags, json: unknown, human: string): void {
  const withDb =
    usedDatabase !== null && typeof json === 'object' && json !== null && !Array.isArray(json)
      ? { ...json, database: usedDatabase }
      : json;
  process.stdout.write(flags.json ? `${JSON.stringify(withDb)}\n` : `${human}\n`);
}
