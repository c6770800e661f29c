/** The synthetic test picture of the style-transfer benchmarks: gradients and an XOR pattern, the same for a seed. */
import type { RgbImage } from '../src/runtime/image.ts';

export function testImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = ((x ^ y) * seed) & 255;
    }
  return { data, width, height };
}
