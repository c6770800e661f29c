/**
 * The one place that loads TensorFlow.js and chooses its backend.
 *
 * Everything (face-api, FaceNet, style transfer) must share one tfjs instance: face-api's node-wasm bundle
 * `require()`s `@tensorflow/tfjs`, so we load it through `require` as well and never through `import`,
 * which could resolve to a second copy with its own (empty) backend registry.
 *
 * `auto` prefers the native `@tensorflow/tfjs-node` when it is installed, but only after one small op on it gives
 * the right answer: its binding is broken on Node >= 23 upstream (it loads, then its kernels fail), and a backend
 * that fails on the first frame would leave the door flow with no faces. Otherwise it falls back to wasm with one
 * line on stderr. Not installed or not built (the default: its install script is denied in `allowScripts`) is the
 * usual case and says nothing.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { errorMessage, FacegateError } from '../util/errors.ts';
import type { BackendName } from './backend-name.ts';

export { BACKEND_NAMES, type BackendName, parseBackend } from './backend-name.ts';

export type Tf = typeof TF;

/** What `initBackend` needs from outside; tests inject a loader that throws or registers a broken backend. */
export interface BackendDeps {
  /** Loads tfjs-node, which registers the `tensorflow` backend (default: require it). */
  loadNative?: () => void;
  /** Where the fallback line goes (default: stderr). */
  warn?: (line: string) => void;
}

const require = createRequire(import.meta.url);
export const tf: Tf = require('@tensorflow/tfjs');

let chosen: Promise<string> | undefined;

function wasmDir(): string {
  return `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`;
}

/** tfjs-node is simply absent or unbuilt (its install script did not run): the normal case, not worth a line. */
function notInstalled(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || /native addon module .* can ?not be found/i.test(errorMessage(err));
}

/** One small op whose answer is known: [1, 2] + [3, 4] = [4, 6]. */
function probe(): string | null {
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
  return sum.length === 2 && sum[0] === 4 && sum[1] === 6 ? null : `1+3, 2+4 gave ${Array.from(sum).join(', ')}`;
}

/** The native backend if it loads and computes correctly; otherwise why not (null reason: not installed). */
async function tryTensorflowNode(deps: BackendDeps): Promise<{ ok: true } | { ok: false; reason: string | null }> {
  try {
    // Optional dependency: its install script fetches libtensorflow, which fails offline; then require throws.
    (deps.loadNative ?? (() => require('@tensorflow/tfjs-node')))();
  } catch (err) {
    return { ok: false, reason: notInstalled(err) ? null : `did not load: ${errorMessage(err)}` };
  }
  let reason: string | null;
  try {
    reason = (await tf.setBackend('tensorflow')) ? probe() : 'did not initialise';
  } catch (err) {
    reason = `failed a test op: ${errorMessage(err)}`;
  }
  if (reason === null) return { ok: true };
  try {
    // Never chosen again by tfjs's own fallback order.
    tf.removeBackend('tensorflow');
  } catch {
    // A broken backend may fail to dispose as well; it is unregistered either way.
  }
  return { ok: false, reason };
}

async function useWasm(): Promise<boolean> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // Threads need SharedArrayBuffer workers that Node's wasm backend cannot start; SIMD is what makes it fast.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // No second argument: Emscripten then reads the .wasm with fs, never over the network.
  wasm.setWasmPaths(wasmDir());
  return tf.setBackend('wasm');
}

/** Chooses and sets a backend now, uncached (tests); `initBackend` is the once-per-thread front door. */
export async function selectBackend(requested: BackendName, deps: BackendDeps = {}): Promise<string> {
  tf.env().set('PROD', true);
  if (requested === 'tensorflow' || requested === 'auto') {
    const native = await tryTensorflowNode(deps);
    if (native.ok) return 'tensorflow';
    if (requested === 'tensorflow') {
      throw new FacegateError(
        `backend "tensorflow" requested but @tensorflow/tfjs-node ${native.reason ?? 'is not installed'}`,
      );
    }
    if (native.reason !== null) {
      const warn = deps.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
      warn(`facegate: tfjs backend auto: @tensorflow/tfjs-node ${native.reason}; using wasm`);
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
export function initBackend(requested: BackendName = 'auto', deps: BackendDeps = {}): Promise<string> {
  if (!chosen) {
    chosen = selectBackend(requested, deps).then(async (name) => {
      await tf.ready();
      return name;
    });
  }
  return chosen;
}
