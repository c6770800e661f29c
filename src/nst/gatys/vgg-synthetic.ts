/**
 * VGG-19-shaped conv stacks with random weights: the benchmark runs Gatys on full VGG-19 shapes without the
 * 510 MB .mat, and tests use the same builder with small channel counts.
 */

import { seededRandom } from '../../util/random.ts';
import { VGG19_LAYERS, type VggConv } from './vgg.ts';

/** VGG-19's output channels per block; `scale` divides them (tests use 16 → 4, 8, 16, 32, 32). */
export const VGG19_BLOCK_CHANNELS = [64, 128, 256, 512, 512] as const;

export function syntheticVggConvs(scale = 1, seed = 1): VggConv[] {
  const next = seededRandom(seed);
  const convs: VggConv[] = [];
  let cin = 3;
  for (const name of VGG19_LAYERS) {
    if (!name.startsWith('conv')) continue;
    const block = Number(name.slice(4, 5));
    const cout = Math.max(1, Math.round((VGG19_BLOCK_CHANNELS[block - 1] as number) / scale));
    // He-style scale keeps activations in a sane range through 16 relu layers.
    const std = Math.sqrt(2 / (9 * cin));
    const filter = new Float32Array(9 * cin * cout);
    for (let i = 0; i < filter.length; i++) filter[i] = (next() * 2 - 1) * std * Math.sqrt(3);
    const bias = new Float32Array(cout);
    for (let i = 0; i < cout; i++) bias[i] = (next() - 0.5) * 0.1;
    convs.push({ name, filter, shape: [3, 3, cin, cout], bias });
    cin = cout;
  }
  return convs;
}
