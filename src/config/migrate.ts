/**
 * Config file migrations: each step takes the raw object of version n and returns version n+1, so an old file
 * on a kiosk keeps working after an upgrade. A file from a newer facegate is refused rather than guessed at.
 */
import { ExitCode, FacegateError } from '../util/errors.ts';
import { CONFIG_VERSION } from './schema.ts';

type RawConfig = Record<string, unknown>;

/** `steps[n]` migrates version n to n+1. Empty while version 1 is the only one. */
const steps: Record<number, (raw: RawConfig) => RawConfig> = {};

export function migrateConfig(raw: RawConfig, label: string): RawConfig {
  const declared = raw.configVersion ?? CONFIG_VERSION;
  if (typeof declared !== 'number' || !Number.isInteger(declared) || declared < 1) {
    throw new FacegateError(
      `${label}: configVersion: expected a whole number ≥ 1, got ${JSON.stringify(declared)}`,
      ExitCode.config,
    );
  }
  if (declared > CONFIG_VERSION) {
    throw new FacegateError(
      `${label}: configVersion ${declared} is newer than this facegate understands (${CONFIG_VERSION}); upgrade facegate`,
      ExitCode.config,
    );
  }
  let current = raw;
  for (let v = declared; v < CONFIG_VERSION; v++) {
    const step = steps[v];
    if (!step) throw new FacegateError(`${label}: no migration from configVersion ${v}`, ExitCode.config);
    current = { ...step(current), configVersion: v + 1 };
  }
  return current;
}
