/**
 * Where facegate finds its config file, data directory and models, decided in one place so the CLI and the daemon
 * (the service) always agree on which face database they mean:
 *   config file: --config > FACEGATE_CONFIG > <etc>/facegate/config.yaml when present > none (embedded defaults)
 *   data dir:    --data-dir > FACEGATE_DATA_DIR > the file's data.dir > /var/lib/facegate when the system config
 *                file exists (an installed kiosk) > ./data (a clone)
 *   models dir:  --models-dir > FACEGATE_MODELS_DIR > recognition.modelsDir > /var/lib/facegate/models when the
 *                system config file exists > ./models
 * `<etc>` is /etc, or FACEGATE_ETC_DIR (tests point it at a temporary directory).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The service's state directory (the unit's StateDirectory=facegate). */
export const SYSTEM_DATA_DIR = '/var/lib/facegate';
/** The data directory of a clone run from its checkout (relative to the working directory). */
export const CLONE_DATA_DIR = 'data';
export const CLONE_MODELS_DIR = 'models';

export function etcDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FACEGATE_ETC_DIR || '/etc';
}

/** `/etc/facegate/config.yaml`, under FACEGATE_ETC_DIR when set. */
export function systemConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(etcDir(env), 'facegate', 'config.yaml');
}

/** Whether this machine is an installed kiosk (the system config file exists). */
export function isInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(systemConfigFile(env));
}

/** `--config`, else FACEGATE_CONFIG, else the system file when present, else null (embedded defaults). */
export function resolveConfigFile(flag?: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag) return flag;
  if (env.FACEGATE_CONFIG) return env.FACEGATE_CONFIG;
  const system = systemConfigFile(env);
  return existsSync(system) ? system : null;
}

/** The data directory when neither flag, environment nor file names one. */
export function fallbackDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return isInstalled(env) ? SYSTEM_DATA_DIR : CLONE_DATA_DIR;
}

/** The models directory when neither flag, environment nor file names one. */
export function fallbackModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return isInstalled(env) ? path.join(SYSTEM_DATA_DIR, 'models') : CLONE_MODELS_DIR;
}

/** The face database file of a `data` section: `dbFile`, else `<dir>/faces.json`; absolute. */
export function faceDbFile(data: { dir: string; dbFile: string | null }): string {
  return path.resolve(data.dbFile ?? path.join(data.dir, 'faces.json'));
}

/** The path keys of the file that name places on disk. */
const PATH_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['data', 'dir'],
  ['data', 'dbFile'],
  ['recognition', 'modelsDir'],
];

/**
 * The system config file is the service's, whose working directory is /var/lib/facegate: its relative paths
 * (the shipped file's old `data.dir: data`) mean the same folder to a CLI started anywhere else.
 */
export function anchorSystemPaths(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [section, key] of PATH_KEYS) {
    const node = out[section];
    if (typeof node !== 'object' || node === null || Array.isArray(node)) continue;
    const value = (node as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '' && !path.isAbsolute(value))
      out[section] = { ...(node as Record<string, unknown>), [key]: path.join(SYSTEM_DATA_DIR, value) };
  }
  return out;
}
