/**
 * The CLI's view of the config, the data directory and the face database, resolved exactly as the daemon resolves
 * them (src/config/locations.ts), so `facegate enroll` on an installed kiosk writes the database the service reads.
 * Read commands never create anything: a missing database is one error line naming the path and how it was chosen.
 * Every command that opens the database says which one, once (stderr line; a `database` field with --json).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { LoadedConfig } from '../config/load.ts';
import { faceDbFile, isInstalled, systemConfigFile } from '../config/locations.ts';
import type { FacegateConfig } from '../config/schema.ts';
import { resolveModelsDir } from '../models/paths.ts';
import type { FaceDb } from '../store/face-db.ts';
import { FacegateError } from '../util/errors.ts';
import { globalFlags, noteDatabase } from './context.ts';

const loaded = new WeakMap<Command, Promise<LoadedConfig>>();

/** The config file's settings with the global flags applied (`--data-dir`, `--db`, `--models-dir`, `--backend`). */
export function cliLoadedConfig(cmd: Command): Promise<LoadedConfig> {
  let config = loaded.get(cmd);
  if (!config) {
    const flags = globalFlags(cmd);
    config = import('../config/load.ts').then(({ loadConfig }) =>
      loadConfig(flags.config, {
        data: { dir: flags.dataDir, dbFile: flags.db },
        recognition: { modelsDir: flags.modelsDir, backend: flags.backend },
      }),
    );
    loaded.set(cmd, config);
  }
  return config;
}

export async function cliConfig(cmd: Command): Promise<FacegateConfig> {
  return (await cliLoadedConfig(cmd)).config;
}

/** The data directory (absolute) the daemon of this config uses: audit log, journals, caches. */
export async function cliDataDir(cmd: Command): Promise<string> {
  return path.resolve((await cliConfig(cmd)).data.dir);
}

/** The models directory: --models-dir > FACEGATE_MODELS_DIR > recognition.modelsDir > the machine's default. */
export async function cliModelsDir(cmd: Command): Promise<string> {
  return resolveModelsDir(globalFlags(cmd).modelsDir, (await cliConfig(cmd)).recognition.modelsDir ?? undefined);
}

/** Which setting chose the database, for the one error line a missing database gives. */
function chosenBy({ file, layers }: LoadedConfig): string {
  const data = (key: 'dir' | 'dbFile', raw: Record<string, unknown>) =>
    (raw.data as Record<string, unknown> | undefined)?.[key] != null;
  if (data('dbFile', layers.flag)) return '--db';
  if (data('dbFile', layers.env)) return 'FACEGATE__data__dbFile';
  if (data('dbFile', layers.file)) return `data.dbFile in ${file}`;
  if (data('dir', layers.flag)) return '--data-dir';
  if (data('dir', layers.env)) return 'FACEGATE_DATA_DIR';
  if (data('dir', layers.file)) return `data.dir in ${file}`;
  const system = systemConfigFile();
  if (data('dir', layers.location) && isInstalled())
    return `the installed default, since ${system} exists, as the service uses it`;
  return `the default of a clone, since ${system} does not exist`;
}

export interface OpenDbOptions {
  /**
   * A command that changes the database may create it (and the data directory); a read command (the default)
   * never creates a file or a folder and reports a missing database instead.
   */
  create?: boolean;
}

/** The database the command works on; its first change says in one line (stderr) if a running daemon follows it. */
export async function openDb(cmd: Command, opts: OpenDbOptions = {}): Promise<FaceDb> {
  // --db names the file outright: no config is needed to find it (so `db list --db F` loads no config schema).
  const flagDb = globalFlags(cmd).db;
  const config = flagDb ? null : await cliLoadedConfig(cmd);
  const file = config ? faceDbFile(config.config.data) : path.resolve(flagDb ?? '');
  if (!existsSync(file)) {
    if (!opts.create)
      throw new FacegateError(
        `no face database at ${file} (from ${config ? chosenBy(config) : '--db'}); enroll someone first, or name another with --db, --data-dir or --config`,
      );
    const folder = path.dirname(file);
    // The data directory is the daemon's to create; a folder named only by --db/dbFile must already exist,
    // so a mistyped path fails instead of growing a tree of folders.
    if (config && folder === path.resolve(config.config.data.dir)) await mkdir(folder, { recursive: true });
    else if (!existsSync(folder))
      throw new FacegateError(`cannot create the face database ${file}: folder ${folder} does not exist`);
  }
  // Loaded on use (with the database schema): `--help` needs neither.
  const { FaceDb } = await import('../store/face-db.ts');
  const db = await FaceDb.open(file);
  noteDatabase(db.file, globalFlags(cmd));
  const off = db.onChange(() => {
    off();
    const pid = db.runningDaemon();
    if (pid !== null)
      process.stderr.write(
        `note: the running daemon (pid ${pid}) follows ${db.file} and applies this change within 2 s\n`,
      );
  });
  return db;
}
