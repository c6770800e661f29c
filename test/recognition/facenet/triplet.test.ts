/**
 * The exercise's triplet loss on hand-computed values: squared distances, hinge at 0 per triplet, summed.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { TRIPLET_ALPHA, tripletLoss, tripletLossValues } from '../../../src/recognition/facenet/triplet-loss.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';

function lossOf(a: number[][], p: number[][], n: number[][], alpha?: number): number {
  const t = [tf.tensor2d(a), tf.tensor2d(p), tf.tensor2d(n)] as const;
  const loss = tripletLoss(t[0], t[1], t[2], alpha);
  const v = loss.dataSync()[0] as number;
  tf.dispose([...t, loss]);
  return v;
}

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-5, `${actual} ≠ ${expected}`);

describe('tripletLoss', () => {
  before(() => initBackend());

  // Batch of three, worked by hand (||a-p||², ||a-n||², + alpha 0.2, hinge):
  //   A: a=(1,2) p=(2,2) n=(1,3): 1 - 1 + 0.2 = 0.2
  //   B: a=(0,0) p=(3,4) n=(1,0): 25 - 1 + 0.2 = 24.2
  //   C: a=(0,0) p=(1,0) n=(0,2): 1 - 4 + 0.2 = -2.8 → 0 (margin inactive: negative already far enough)
  const A = [
    [1, 2],
    [0, 0],
    [0, 0],
  ];
  const P = [
    [2, 2],
    [3, 4],
    [1, 0],
  ];
  const N = [
    [1, 3],
    [1, 0],
    [0, 2],
  ];

  test('alpha defaults to 0.2', () => assert.equal(TRIPLET_ALPHA, 0.2));

  test('sums the per-triplet hinges: 0.2 + 24.2 + 0 = 24.4', () => {
    close(lossOf(A, P, N), 24.4);
    close(tripletLossValues(A, P, N), 24.4);
  });

  test('a triplet whose margin is inactive contributes exactly 0', () => {
    assert.equal(lossOf([[0, 0]], [[1, 0]], [[0, 2]]), 0);
    assert.equal(tripletLossValues([[0, 0]], [[1, 0]], [[0, 2]]), 0);
  });

  test('squared, not plain, distances: a=(0,0) p=(0,3) n=(0,2) → 9 - 4 + 0.2 = 5.2', () => {
    close(lossOf([[0, 0]], [[0, 3]], [[0, 2]]), 5.2);
  });

  test('the margin decides: negative farther by 0.11 is still penalised at alpha 0.2, not at 0.1', () => {
    // ||a-p||² = 0.25, ||a-n||² = 0.36 → 0.25 - 0.36 + alpha
    close(lossOf([[0, 0]], [[0.5, 0]], [[0.6, 0]]), 0.09);
    assert.equal(lossOf([[0, 0]], [[0.5, 0]], [[0.6, 0]], 0.1), 0);
    close(tripletLossValues([[0, 0]], [[0.5, 0]], [[0.6, 0]]), 0.09);
  });

  test('a single [d] triplet works like a batch of one', () => {
    const [a, p, n] = [tf.tensor1d([3, 4]), tf.tensor1d([0, 0]), tf.tensor1d([3, 5])];
    const loss = tripletLoss(a, p, n);
    close(loss.dataSync()[0] as number, 25 - 1 + 0.2);
    tf.dispose([a, p, n, loss]);
  });

  test('mismatched shapes are refused', () => {
    const [a, p] = [tf.tensor2d([[1, 2]]), tf.tensor2d([[1, 2, 3]])];
    assert.throws(() => tripletLoss(a, p, a), /must have the same shape/);
    tf.dispose([a, p]);
  });
});
