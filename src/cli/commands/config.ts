/**
 * `facegate config check [--config F] [--json]`: validates the config the daemon would run with (file, environment
 * and the global flags, found as the service finds them) and prints every effective value with where it came from
 * (default, file, env, flag), secrets masked. Unknown keys, also in the open `mqtt` section where the daemon drops
 * them, are reported with the closest known key; any unknown key or invalid value is exit 78.
 */
import type { Command } from 'commander';
import type { ConfigLayers } from '../../config/load.ts';
import { faceDbFile } from '../../config/locations.ts';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { globalFlags, output } from '../context.ts';
import { cliLoadedConfig } from '../locations.ts';

export type ValueSource = 'flag' | 'env' | 'file' | 'default';

const SECRET_KEY = /(secret|password)$/i;
export const MASK = '********';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(raw: Record<string, unknown>, keys: string[]): boolean {
  let node: unknown = raw;
  for (const key of keys) {
    if (!isPlainObject(node) || node[key] === undefined) return false;
    node = node[key];
  }
  return true;
}

/** The layer that set a key: the last one in precedence order that holds it. */
export function sourceOf(layers: ConfigLayers, keys: string[]): ValueSource {
  if (has(layers.flag, keys)) return 'flag';
  if (has(layers.env, keys)) return 'env';
  if (has(layers.file, keys)) return 'file';
  return 'default';
}

export interface EffectiveValue {
  key: string;
  value: unknown;
  source: ValueSource;
}

function valueAt(config: unknown, keys: string[]): unknown {
  let node: unknown = config;
  for (const key of keys) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Every key of the schema with its effective value (null when unset), secrets replaced by a mask. */
export function effectiveValues(config: unknown, layers: ConfigLayers, keys: readonly string[]): EffectiveValue[] {
  return keys.map((dotted) => {
    const keys = dotted.split('.');
    const value = valueAt(config, keys);
    const secret = SECRET_KEY.test(dotted) && value !== undefined && value !== null && value !== '';
    return { key: dotted, value: secret ? MASK : (value ?? null), source: sourceOf(layers, keys) };
  });
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check the configuration the daemon would run with');
  config
    .command('check')
    .description(
      'validate the config (file, environment, flags) and print every effective value and its source, secrets masked',
    )
    .action(async (_opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      // Loaded here: the key list walks the whole config schema, which `--help` must not load.
      const { allConfigKeys, unknownKeys } = await import('../../config/keys.ts');
      const { config: effective, file, layers } = await cliLoadedConfig(cmd);
      const unknown = [...unknownKeys(layers.file), ...unknownKeys(layers.env)];
      if (unknown.length > 0)
        throw new FacegateError(
          `${file ? `config ${file}` : 'config'} has ${unknown.length} unknown key${unknown.length === 1 ? '' : 's'}: ${unknown.join('; ')}`,
          ExitCode.config,
        );
      const values = effectiveValues(effective, layers, allConfigKeys());
      const database = faceDbFile(effective.data);
      const counts = { file: 0, env: 0, flag: 0, default: 0 };
      for (const v of values) counts[v.source]++;
      const width = Math.max(...values.map((v) => v.key.length));
      const human = [
        `config: ${file ?? '(none: embedded defaults)'}`,
        `database: ${database}`,
        ...values.map((v) => `${v.key.padEnd(width)}  ${JSON.stringify(v.value)}  (${v.source})`),
        `ok: valid; ${values.length} values: ${counts.file} from the file, ${counts.env} from the environment, ${counts.flag} from flags, ${counts.default} defaults`,
      ].join('\n');
      output(flags, { valid: true, file, database, values }, human);
    });
}
