/**
 * Loading the configuration: embedded defaults < YAML file < environment (secrets) < command-line overrides,
 * validated once at start-up. Everything wrong is reported in one message (every bad key and why), exit code 78.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ExitCode, FacegateError } from '../util/errors.ts';
import { didYouMean } from './keys.ts';
import {
  anchorSystemPaths,
  fallbackDataDir,
  fallbackModelsDir,
  isInstalled,
  resolveConfigFile,
  systemConfigFile,
} from './locations.ts';
import { migrateConfig } from './migrate.ts';
import { type ConfigOverrides, configSchema, type FacegateConfig } from './schema.ts';

export const SYSTEM_CONFIG_FILE = '/etc/facegate/config.yaml';

/**
 * Secrets and site values that are better kept out of the file (systemd `EnvironmentFile=`). Any other key can be
 * set as `FACEGATE__<section>__<key>=<value>` (value read as YAML, so `true` and `42` keep their types).
 */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  FACEGATE_ADMIN_SECRET: 'mqtt.adminSecret',
  FACEGATE_MQTT_PASSWORD: 'mqtt.password',
  FACEGATE_KIOSK_ID: 'kioskId',
  FACEGATE_LOG_LEVEL: 'logging.level',
  FACEGATE_DATA_DIR: 'data.dir',
  FACEGATE_MODELS_DIR: 'recognition.modelsDir',
};

type Raw = Record<string, unknown>;

function isPlainObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(target: Raw, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() ?? dotted;
  let node = target;
  for (const key of keys) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Raw;
  }
  node[last] = value;
}

/** Deep merge where `over` wins; arrays and scalars are replaced, undefined values are skipped. */
function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? merge(out[key] as Raw, value) : value;
  }
  return out;
}

export function envOverrides(env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const known = ENV_OVERRIDES[name];
    if (known) setPath(out, known, value);
    else if (name.startsWith('FACEGATE__')) {
      const dotted = name.slice('FACEGATE__'.length).split('__').filter(Boolean).join('.');
      if (dotted) setPath(out, dotted, YAML.parse(value) ?? value);
    }
  }
  return out;
}

/** Every issue as `key.path: why`, joined into the one message an admin reads. */
export function describeConfigIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const prefix = where ? `${where}.` : '';
      return issue.keys.map((k) => `${prefix}${k}: unknown key${didYouMean(where, k)}`).join('; ');
    }
    return `${where || '(root)'}: ${issue.message}`;
  });
}

async function readYaml(file: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new FacegateError(`config ${file}: cannot read (${why})`, ExitCode.config);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    throw new FacegateError(`config ${file}: not valid YAML (${why})`, ExitCode.config);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc))
    throw new FacegateError(`config ${file}: expected a mapping of sections at the top level`, ExitCode.config);
  return doc;
}

export { resolveConfigFile } from './locations.ts';

/** The raw values each layer contributed, so `facegate config check` can say where every value came from. */
export interface ConfigLayers {
  file: Raw;
  env: Raw;
  flag: Raw;
  /** Defaults that depend on the machine rather than the schema (data and models dirs of an installed kiosk). */
  location: Raw;
}

export interface LoadedConfig {
  config: FacegateConfig;
  /** The file read, or null when running on embedded defaults. */
  file: string | null;
  layers: ConfigLayers;
}

function hasPath(raw: Raw, dotted: string): boolean {
  let node: unknown = raw;
  for (const key of dotted.split('.')) {
    if (!isPlainObject(node) || node[key] === undefined || node[key] === null) return false;
    node = node[key];
  }
  return true;
}

/** The data dir (and models dir) an unnamed location falls back to: the service's on an installed kiosk. */
function locationDefaults(merged: Raw, env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  if (!hasPath(merged, 'data.dir')) setPath(out, 'data.dir', fallbackDataDir(env));
  if (!hasPath(merged, 'recognition.modelsDir') && isInstalled(env))
    setPath(out, 'recognition.modelsDir', fallbackModelsDir(env));
  return out;
}

export async function loadConfig(
  file?: string | null,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const resolved = file === null ? null : resolveConfigFile(file, env);
  const label = resolved ? `config ${resolved}` : 'config';
  const read = resolved ? migrateConfig(await readYaml(resolved), label) : {};
  const isSystemFile = resolved !== null && path.resolve(resolved) === path.resolve(systemConfigFile(env));
  const fromFile = isSystemFile ? anchorSystemPaths(read) : read;
  const fromEnv = envOverrides(env);
  const layered = merge(merge(fromFile, fromEnv), overrides as Raw);
  const location = locationDefaults(layered, env);
  const merged = merge(location, layered);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = describeConfigIssues(parsed.error);
    throw new FacegateError(
      `${label} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${issues.join('; ')}`,
      ExitCode.config,
    );
  }
  return {
    config: parsed.data,
    file: resolved,
    layers: { file: fromFile, env: fromEnv, flag: overrides as Raw, location },
  };
}

/** The defaults alone, for tests and `facegate run` without any file. */
export function defaultConfig(overrides: ConfigOverrides = {}): FacegateConfig {
  return configSchema.parse(overrides);
}
