/**
 * Loading the configuration: embedded defaults < YAML file < environment (secrets) < command-line overrides,
 * validated once at start-up. Everything wrong is reported in one message (every bad key and why), exit code 78.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import type { z } from 'zod';
import { ExitCode, FacegateError } from '../util/errors.ts';
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
      return issue.keys.map((k) => `${prefix}${k}: unknown key`).join('; ');
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

/** `--config`, else the system file when present, else none (embedded defaults). */
export function resolveConfigFile(flag?: string): string | null {
  if (flag) return flag;
  return existsSync(SYSTEM_CONFIG_FILE) ? SYSTEM_CONFIG_FILE : null;
}

export interface LoadedConfig {
  config: FacegateConfig;
  /** The file read, or null when running on embedded defaults. */
  file: string | null;
}

export async function loadConfig(
  file?: string | null,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const resolved = file === null ? null : resolveConfigFile(file);
  const label = resolved ? `config ${resolved}` : 'config';
  const fromFile = resolved ? migrateConfig(await readYaml(resolved), label) : {};
  const merged = merge(merge(fromFile, envOverrides(env)), overrides as Raw);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = describeConfigIssues(parsed.error);
    throw new FacegateError(
      `${label} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${issues.join('; ')}`,
      ExitCode.config,
    );
  }
  return { config: parsed.data, file: resolved };
}

/** The defaults alone, for tests and `facegate run` without any file. */
export function defaultConfig(overrides: ConfigOverrides = {}): FacegateConfig {
  return configSchema.parse(overrides);
}
