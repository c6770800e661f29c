/**
 * The exercise's triplet loss, for calibration tooling (no training loop lives here):
 *     pos_dist = reduce_sum(square(anchor - positive), axis=-1)
 *     neg_dist = reduce_sum(square(anchor - negative), axis=-1)
 *     loss     = reduce_sum(maximum(pos_dist - neg_dist + alpha, 0))
 * i.e. squared (not plain) Euclidean distances, hinged per triplet, summed (not averaged) over the batch.
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';

export const TRIPLET_ALPHA = 0.2;

type Batch = TF.Tensor1D | TF.Tensor2D;

/** Anchors, positives and negatives as [batch, d] (or a single [d] triplet). Returns a scalar; caller disposes. */
export function tripletLoss(anchor: Batch, positive: Batch, negative: Batch, alpha = TRIPLET_ALPHA): TF.Scalar {
  const shape = anchor.shape.join(',');
  if (positive.shape.join(',') !== shape || negative.shape.join(',') !== shape) {
    throw new FacegateError(
      `triplet loss: anchor [${anchor.shape}], positive [${positive.shape}] and negative [${negative.shape}] must have the same shape`,
    );
  }
  return tf.tidy(() => {
    const posDist = tf.sum(tf.square(tf.sub(anchor, positive)), -1);
    const negDist = tf.sum(tf.square(tf.sub(anchor, negative)), -1);
    const basic = tf.add(tf.sub(posDist, negDist), alpha);
    return tf.sum(tf.maximum(basic, 0)) as TF.Scalar;
  });
}

/** The same loss on plain arrays (float64), for callers without tensors and as the tests' second opinion. */
export function tripletLossValues(
  anchor: readonly (readonly number[])[],
  positive: readonly (readonly number[])[],
  negative: readonly (readonly number[])[],
  alpha = TRIPLET_ALPHA,
): number {
  if (positive.length !== anchor.length || negative.length !== anchor.length) {
    throw new FacegateError('triplet loss: anchor, positive and negative batches differ in length');
  }
  const sq = (a: readonly number[], b: readonly number[]): number => {
    if (a.length !== b.length) throw new FacegateError('triplet loss: vectors differ in length');
    return a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0);
  };
  let loss = 0;
  for (const [i, a] of anchor.entries()) {
    loss += Math.max(sq(a, positive[i] as number[]) - sq(a, negative[i] as number[]) + alpha, 0);
  }
  return loss;
}
