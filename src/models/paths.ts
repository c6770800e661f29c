import path from 'node:path';

/** Where imported and downloaded weights live: flag, then FACEGATE_MODELS_DIR, then config, then ./models. */
export function resolveModelsDir(flag?: string, configured?: string): string {
  return path.resolve(flag ?? process.env.FACEGATE_MODELS_DIR ?? configured ?? 'models');
}
