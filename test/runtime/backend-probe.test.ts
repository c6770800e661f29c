/**
 * The `auto` backend's probe of @tensorflow/tfjs-node (broken on Node >= 23 upstream, and not buildable here): it is
 * chosen only if one small op on it gives the right answer; otherwise wasm, with one line when it was installed but
 * failed, and silence when it simply is not installed. Loaders are injected: one that throws, one that registers a
 * backend whose ops fail (as a binding that loads but cannot compute does).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend, tf } from '../../src/runtime/tf.ts';

/** A backend that initialises but cannot even hold a tensor (every op throws), and disposes cleanly. */
class BrokenBackend extends tf.KernelBackend {
  override dispose(): void {}
}

/** What tfjs-node does on load: register a `tensorflow` backend; this one is broken. */
function registerBrokenNative(): void {
  tf.registerBackend('tensorflow', () => new BrokenBackend());
}

function collect(): { lines: string[]; warn: (line: string) => void } {
  const lines: string[] = [];
  return { lines, warn: (line) => lines.push(line) };
}

test('a native backend that loads but fails its test op is not chosen: wasm, one line, unregistered', async () => {
  const { lines, warn } = collect();
  assert.equal(await selectBackend('auto', { loadNative: registerBrokenNative, warn }), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(lines.length, 1);
  assert.match(
    lines[0] ?? '',
    /^facegate: tfjs backend auto: @tensorflow\/tfjs-node failed a test op: .*; using wasm$/,
  );
  assert.equal(tf.findBackend('tensorflow'), null, 'the broken backend stays registered');
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
  assert.deepEqual(Array.from(sum), [4, 6]);
});

test('a native backend whose loader throws: wasm and one line naming the error', async () => {
  const { lines, warn } = collect();
  const loadNative = () => {
    throw new Error('tfjs_binding.node: undefined symbol: napi_foo');
  };
  assert.equal(await selectBackend('auto', { loadNative, warn }), 'wasm');
  assert.deepEqual(lines, [
    'facegate: tfjs backend auto: @tensorflow/tfjs-node did not load: tfjs_binding.node: undefined symbol: napi_foo; using wasm',
  ]);
});

test('tfjs-node not installed (or its install script not run) is the usual case: wasm, no line', async () => {
  const { lines, warn } = collect();
  const missing = () => {
    throw Object.assign(new Error("Cannot find module '@tensorflow/tfjs-node'"), { code: 'MODULE_NOT_FOUND' });
  };
  assert.equal(await selectBackend('auto', { loadNative: missing, warn }), 'wasm');
  // The real loader on this machine: tfjs-node's install script is denied, so its binding is not built.
  assert.equal(await selectBackend('auto', { warn }), 'wasm');
  assert.deepEqual(lines, []);
});

test('--backend tensorflow with a broken native backend is an error, not a silent wasm', async () => {
  const { lines, warn } = collect();
  await assert.rejects(selectBackend('tensorflow', { loadNative: registerBrokenNative, warn }), (err: Error) => {
    assert.match(err.message, /^backend "tensorflow" requested but @tensorflow\/tfjs-node failed a test op/);
    return true;
  });
  assert.equal(tf.findBackend('tensorflow'), null);
  assert.deepEqual(lines, [], 'an explicit request fails with its own error, not the fallback line');
  await selectBackend('wasm');
});
