/**
 * The one place that loads TensorFlow.js and chooses its backend.
 *
 * Everything (face-api, FaceNet, style transfer) must share one tfjs instance: face-api's node-wasm bundle
 * `require()`s `@tensorflow/tfjs`, so we load it through `require` as well and never through `import`,
 * which could resolve to a second copy with its own (empty) backend registry.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { FacegateError } from '../util/errors.ts';

export type Tf = typeof TF;
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);
export const tf: Tf = require('@tensorflow/tfjs');

let chosen: Promise<string> | undefined;

function wasmDir(): string {
  return `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`;
}

async function tryTensorflowNode(): Promise<boolean> {
  try {
    // Optional dependency: its install script fetches libtensorflow, which fails offline; then require throws.
    require('@tensorflow/tfjs-node');
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function useWasm(): Promise<boolean> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // Threads need SharedArrayBuffer workers that Node's wasm backend cannot start; SIMD is what makes it fast.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // No second argument: Emscripten then reads the .wasm with fs, never over the network.
  wasm.setWasmPaths(wasmDir());
  return tf.setBackend('wasm');
}

async function select(requested: BackendName): Promise<string> {
  tf.env().set('PROD', true);
  if (requested === 'tensorflow' || requested === 'auto') {
    if (await tryTensorflowNode()) return 'tensorflow';
    if (requested === 'tensorflow') {
      throw new FacegateError(
        'backend "tensorflow" requested but @tensorflow/tfjs-node is not installed or failed to load',
      );
    }
  }
  if (requested === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  if (await useWasm()) return 'wasm';
  throw new FacegateError('could not initialise the tfjs wasm backend');
}

/**
 * Selects the backend once per thread; later calls return the first choice (tfjs backends are process-global
 * per thread, and switching mid-run would strand loaded weights).
 */
export function initBackend(requested: BackendName = 'auto'): Promise<string> {
  if (!chosen) {
    chosen = select(requested).then(async (name) => {
      await tf.ready();
      return name;
    });
  }
  return chosen;
}

export function parseBackend(value: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new FacegateError(`unknown backend "${value}" (expected one of: ${BACKEND_NAMES.join(', ')})`);
}
