/** Random fast-style weights with the real architecture's shapes (no shared data needed), seeded. */
import { FAST_FILTER_SHAPES, type FastStyleWeights } from '../../src/nst/fast/weights.ts';
import { tf } from '../../src/runtime/tf.ts';

export function randomFastWeights(seed = 0): FastStyleWeights {
  return {
    layers: FAST_FILTER_SHAPES.map((shape, l) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const fanIn = (shape[0] as number) * (shape[1] as number) * (shape[l === 13 || l === 14 ? 3 : 2] as number);
      const out = shape[l === 13 || l === 14 ? 2 : 3] as number;
      return {
        filter: {
          shape: [...shape],
          values: tf.randomNormal([n], 0, Math.sqrt(2 / fanIn), 'float32', seed + l).dataSync() as Float32Array,
        },
        shift: tf.randomNormal([out], 0, 0.5, 'float32', seed + 100 + l).dataSync() as Float32Array,
        scale: tf.randomNormal([out], 1, 0.3, 'float32', seed + 200 + l).dataSync() as Float32Array,
      };
    }),
  };
}
