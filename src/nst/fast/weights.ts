/**
 * Reads a fast style network (Johnson et al. 2016, Engstrom's TensorFlow checkpoint in the layout ml5 publishes):
 * `manifest.json` maps variable names to `{filename, shape}`, and each file holds raw little-endian float32.
 *
 * Layout, checked against Engstrom's `transform.py` (variables are created in call order: conv filter, then
 * instance-norm shift, then scale) and by eye on all nine shipped styles: 16 layers of three variables each,
 * `Variable`..`Variable_47`, in network order.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FacegateError } from '../../util/errors.ts';

export type Float32Tensor = { shape: number[]; values: Float32Array };

/** One conv layer with its instance norm: filter `[k, k, in, out]` (transposed layers: `[k, k, out, in]`). */
export interface FastLayer {
  filter: Float32Tensor;
  shift: Float32Array;
  scale: Float32Array;
}

export interface FastStyleWeights {
  /** conv1, conv2, conv3, residual 1a,1b..5a,5b, convT1, convT2, conv_out: 16 layers. */
  layers: FastLayer[];
}

/** The shapes the architecture needs, in variable order (filter shapes only; shift/scale are `[out]`). */
export const FAST_FILTER_SHAPES: readonly (readonly number[])[] = [
  [9, 9, 3, 32],
  [3, 3, 32, 64],
  [3, 3, 64, 128],
  ...Array.from({ length: 10 }, () => [3, 3, 128, 128]),
  [3, 3, 64, 128],
  [3, 3, 32, 64],
  [9, 9, 32, 3],
];

export function variableName(index: number): string {
  return index === 0 ? 'Variable' : `Variable_${index}`;
}

interface ManifestEntry {
  filename: string;
  shape: number[];
}

function isManifestEntry(value: unknown): value is ManifestEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { filename?: unknown; shape?: unknown };
  return typeof v.filename === 'string' && Array.isArray(v.shape) && v.shape.every((d) => Number.isInteger(d) && d > 0);
}

/** Number of output channels a layer's filter produces (transposed filters keep `out` in slot 2). */
function outChannels(layerIndex: number, shape: readonly number[]): number {
  const transposed = layerIndex === 13 || layerIndex === 14;
  return (transposed ? shape[2] : shape[3]) as number;
}

export async function readManifest(dir: string, label: string): Promise<Record<string, ManifestEntry>> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new FacegateError(`${label}: no manifest.json in ${dir}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FacegateError(`${label}: ${path.join(dir, 'manifest.json')} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw new FacegateError(`${label}: manifest.json is not an object`);
  return parsed as Record<string, ManifestEntry>;
}

async function readFloat32(file: string, shape: readonly number[], label: string): Promise<Float32Array> {
  const count = shape.reduce((a, b) => a * b, 1);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new FacegateError(`${label}: weight file missing: ${file}`);
  }
  if (bytes.byteLength !== count * 4) {
    throw new FacegateError(
      `${label}: ${file} has ${bytes.byteLength} bytes, expected ${count * 4} for shape [${shape.join(', ')}]`,
    );
  }
  // Copy into an aligned buffer: Buffer slices from the pool may start at an odd offset.
  const values = new Float32Array(count);
  new Uint8Array(values.buffer).set(bytes);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new FacegateError('big-endian hosts are not supported');
  return values;
}

/** Loads and validates all 48 variables; any deviation from the architecture is a one-line error. */
export async function loadFastStyle(dir: string, label = path.basename(dir)): Promise<FastStyleWeights> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new FacegateError(`${label}: style directory ${dir} does not exist`);
  }
  const manifest = await readManifest(dir, label);
  const entry = (i: number, shape: readonly number[]): ManifestEntry => {
    const name = variableName(i);
    const e = manifest[name];
    if (!isManifestEntry(e)) throw new FacegateError(`${label}: manifest.json has no valid entry for ${name}`);
    if (e.shape.join(',') !== shape.join(',')) {
      throw new FacegateError(`${label}: ${name} has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (path.basename(e.filename) !== e.filename)
      throw new FacegateError(`${label}: ${name} filename must be a plain name`);
    return e;
  };
  const layers: FastLayer[] = [];
  for (let l = 0; l < FAST_FILTER_SHAPES.length; l++) {
    const filterShape = FAST_FILTER_SHAPES[l] as readonly number[];
    const channels = outChannels(l, filterShape);
    const [f, sh, sc] = [entry(3 * l, filterShape), entry(3 * l + 1, [channels]), entry(3 * l + 2, [channels])];
    layers.push({
      filter: { shape: [...filterShape], values: await readFloat32(path.join(dir, f.filename), filterShape, label) },
      shift: await readFloat32(path.join(dir, sh.filename), [channels], label),
      scale: await readFloat32(path.join(dir, sc.filename), [channels], label),
    });
  }
  return { layers };
}

/** Every file a style directory consists of (for copying and sha256 manifests). */
export function fastStyleFiles(): string[] {
  return ['manifest.json', ...Array.from({ length: 48 }, (_, i) => variableName(i))];
}
