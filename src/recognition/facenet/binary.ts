/**
 * The imported form of the FaceNet weights: `<modelsDir>/facenet-nn4small2/` holding
 *   weights.bin   every tensor as little-endian float32, concatenated in shape-table order, in the exercise's
 *                 stored layout (the network does its transposes at load, the same for CSV and binary);
 *   weights.json  the table: name, shape, byte offset, value count per tensor;
 *   sha256.json   the manifest of both, checked before every load.
 * Start-up then reads ~15 MB of binary instead of parsing ~40 MB of CSV.
 *
 * Import writes into a staging directory beside the destination and renames it into place, so an interrupted
 * import never leaves a half-written model where the encoder would find it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MANIFEST_FILE, readManifest, verifyFiles, writeManifest } from '../../models/manifest.ts';
import { FacegateError } from '../../util/errors.ts';
import { loadCsvWeights } from './csv-loader.ts';
import { FACENET_TENSORS, FACENET_TOTAL_VALUES } from './shape-table.ts';
import { completeWeightTable, type WeightTable } from './weight-table.ts';

export const FACENET_MODEL_DIR = 'facenet-nn4small2';
export const WEIGHTS_BIN = 'weights.bin';
export const WEIGHTS_JSON = 'weights.json';
const FORMAT = 'facegate-facenet-nn4small2-weights';
const WHAT = 'FaceNet nn4.small2 weights';
export const IMPORT_HINT = 'run "facegate models import facenet <dir>" with the exercise\'s CSV weight directory';

const tableSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  dtype: z.literal('float32'),
  byteOrder: z.literal('little-endian'),
  tensors: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number().int().nonnegative()),
      offset: z.number().int().nonnegative(),
      size: z.number().int().nonnegative(),
    }),
  ),
});
type BinaryTable = z.infer<typeof tableSchema>;

export function facenetModelDir(modelsDir: string): string {
  return path.join(modelsDir, FACENET_MODEL_DIR);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Serialises a complete table; pure, so tests can check the layout without touching the file system. */
export function encodeBinary(table: WeightTable): { bin: Buffer; json: BinaryTable } {
  const bin = Buffer.alloc(FACENET_TOTAL_VALUES * 4);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const tensors: BinaryTable['tensors'] = [];
  let offset = 0;
  for (const t of FACENET_TENSORS) {
    const values = table.values.get(t.name) as Float32Array;
    tensors.push({ name: t.name, shape: [...t.shape], offset, size: t.size });
    for (let i = 0; i < values.length; i++) view.setFloat32(offset + i * 4, values[i] as number, true);
    offset += t.size * 4;
  }
  return { bin, json: { format: FORMAT, version: 1, dtype: 'float32', byteOrder: 'little-endian', tensors } };
}

/** Converts the exercise's CSV directory into the binary form under `modelsDir`; returns a one-line summary. */
export async function importFacenetWeights(source: string, modelsDir: string): Promise<string> {
  const table = await loadCsvWeights(source);
  const { bin, json } = encodeBinary(table);
  const dest = facenetModelDir(modelsDir);
  await mkdir(modelsDir, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = path.join(modelsDir, `.${FACENET_MODEL_DIR}.import-${suffix}`);
  const old = path.join(modelsDir, `.${FACENET_MODEL_DIR}.old-${suffix}`);
  let movedOld = false;
  try {
    await mkdir(staging);
    await writeFile(path.join(staging, WEIGHTS_BIN), bin);
    await writeFile(path.join(staging, WEIGHTS_JSON), `${JSON.stringify(json)}\n`);
    await writeManifest(staging, [WEIGHTS_BIN, WEIGHTS_JSON]);
    if (await exists(dest)) {
      await rename(dest, old);
      movedOld = true;
    }
    await rename(staging, dest);
  } catch (err) {
    // Put the previous import back rather than leave no model at all.
    if (movedOld && !(await exists(dest))) await rename(old, dest).catch(() => undefined);
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
  const mb = (bin.byteLength / 1e6).toFixed(1);
  return `imported ${FACENET_TENSORS.length} FaceNet tensors (${FACENET_TOTAL_VALUES} values, ${mb} MB) from ${path.resolve(source)} into ${dest}`;
}

function invalid(dir: string, why: string): FacegateError {
  return new FacegateError(`${WHAT} in ${dir} are invalid: ${why}; ${IMPORT_HINT} again`);
}

/** Checks the JSON table lists exactly the shape table, contiguously, and that the .bin has exactly that size. */
function checkTable(dir: string, json: BinaryTable, binBytes: number): void {
  if (json.tensors.length !== FACENET_TENSORS.length) {
    throw invalid(dir, `${WEIGHTS_JSON} lists ${json.tensors.length} tensors, expected ${FACENET_TENSORS.length}`);
  }
  let offset = 0;
  for (const [i, t] of FACENET_TENSORS.entries()) {
    const e = json.tensors[i] as BinaryTable['tensors'][number];
    const sameShape = e.shape.length === t.shape.length && e.shape.every((d, j) => d === t.shape[j]);
    if (e.name !== t.name || !sameShape || e.size !== t.size || e.offset !== offset) {
      throw invalid(
        dir,
        `${WEIGHTS_JSON} entry ${i} is ${e.name} [${e.shape.join(', ')}], expected ${t.name} [${t.shape.join(', ')}]`,
      );
    }
    offset += t.size * 4;
  }
  if (binBytes !== offset) throw invalid(dir, `${WEIGHTS_BIN} has ${binBytes} bytes, expected ${offset}`);
}

/** Loads the imported weights after checking their sha256 manifest; a missing import says how to make one. */
export async function loadFacenetBinary(modelsDir: string): Promise<WeightTable> {
  const dir = facenetModelDir(modelsDir);
  if (!(await exists(path.join(dir, WEIGHTS_JSON))) && !(await exists(path.join(dir, MANIFEST_FILE)))) {
    throw new FacegateError(`${WHAT} not found in ${dir}: ${IMPORT_HINT}`);
  }
  const manifest = await readManifest(dir, WHAT);
  for (const f of [WEIGHTS_BIN, WEIGHTS_JSON]) {
    if (!manifest[f]) throw invalid(dir, `${MANIFEST_FILE} does not list ${f}`);
  }
  await verifyFiles(dir, manifest, WHAT);
  let json: BinaryTable;
  try {
    json = tableSchema.parse(JSON.parse(await readFile(path.join(dir, WEIGHTS_JSON), 'utf8')));
  } catch {
    throw invalid(dir, `${WEIGHTS_JSON} is not a ${FORMAT} v1 table`);
  }
  const bin = await readFile(path.join(dir, WEIGHTS_BIN));
  checkTable(dir, json, bin.byteLength);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const values = new Map<string, Float32Array>();
  for (const e of json.tensors) {
    const out = new Float32Array(e.size);
    for (let i = 0; i < e.size; i++) out[i] = view.getFloat32(e.offset + i * 4, true);
    values.set(e.name, out);
  }
  return completeWeightTable(dir, values);
}
