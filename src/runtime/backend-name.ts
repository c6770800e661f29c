/**
 * The tfjs backend names the CLI and config accept, without loading TensorFlow.js (tf.ts does): `--help` and the
 * commands that run no model parse `--backend` through this file alone.
 */
import { FacegateError } from '../util/errors.ts';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export function parseBackend(value: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new FacegateError(`unknown backend "${value}" (expected one of: ${BACKEND_NAMES.join(', ')})`);
}
