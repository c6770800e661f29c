/**
 * A tiny MATLAB level-5 MAT writer for tests: cell, struct, char and single arrays, each top-level variable
 * optionally wrapped in miCOMPRESSED, exactly the structure MatConvNet's VGG-19 file has.
 */
import { deflateSync } from 'node:zlib';

export type MatIn =
  | { cell: MatIn[]; dims?: number[] }
  | { struct: Record<string, MatIn> }
  | { char: string }
  | { single: Float32Array; dims: number[] };

const MI_INT8 = 1;
const MI_UINT16 = 4;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_SINGLE = 7;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;

function element(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(data.length, 4);
  const pad = Buffer.alloc((8 - (data.length % 8)) % 8);
  return Buffer.concat([head, data, pad]);
}

function int32s(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeInt32LE(v, i * 4);
  return b;
}

function matrix(value: MatIn, name = ''): Buffer {
  const flags = Buffer.alloc(8);
  let classId: number;
  let dims: number[];
  let body: Buffer[];
  if ('cell' in value) {
    classId = 1;
    dims = value.dims ?? [1, value.cell.length];
    body = value.cell.map((v) => matrix(v));
  } else if ('struct' in value) {
    classId = 2;
    dims = [1, 1];
    const names = Object.keys(value.struct);
    const len = 32;
    const nameBytes = Buffer.alloc(names.length * len);
    for (const [i, n] of names.entries()) nameBytes.write(n, i * len, 'latin1');
    // Field-name length goes in a small data element, as MATLAB writes it.
    const small = Buffer.alloc(8);
    small.writeUInt32LE((4 << 16) | MI_INT32, 0);
    small.writeInt32LE(len, 4);
    body = [small, element(MI_INT8, nameBytes), ...names.map((n) => matrix(value.struct[n] as MatIn))];
  } else if ('char' in value) {
    classId = 4;
    dims = [1, value.char.length];
    const chars = Buffer.alloc(value.char.length * 2);
    for (let i = 0; i < value.char.length; i++) chars.writeUInt16LE(value.char.charCodeAt(i), i * 2);
    body = [element(MI_UINT16, chars)];
  } else {
    classId = 7;
    dims = value.dims;
    body = [element(MI_SINGLE, Buffer.from(value.single.buffer, value.single.byteOffset, value.single.byteLength))];
  }
  flags.writeUInt32LE(classId, 0);
  const content = Buffer.concat([
    element(MI_UINT32, flags),
    element(MI_INT32, int32s(dims)),
    element(MI_INT8, Buffer.from(name, 'latin1')),
    ...body,
  ]);
  return element(MI_MATRIX, content);
}

/** Builds a whole MAT file with the given top-level variables. */
export function writeMat5(vars: Record<string, MatIn>, compress = true): Buffer {
  const header = Buffer.alloc(128, ' ');
  header.write('MATLAB 5.0 MAT-file, written by facegate tests', 0, 'latin1');
  header.fill(0, 116, 124);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  const parts = Object.entries(vars).map(([name, v]) => {
    const m = matrix(v, name);
    if (!compress) return m;
    const z = deflateSync(m);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(MI_COMPRESSED, 0);
    head.writeUInt32LE(z.length, 4);
    return Buffer.concat([head, z]);
  });
  return Buffer.concat([header, ...parts]);
}

/** Column-major (MATLAB) copy of a row-major array with the given dims. */
export function toColumnMajor(rowMajor: Float32Array, dims: number[]): Float32Array {
  const out = new Float32Array(rowMajor.length);
  const n = dims.length;
  const idx = new Array<number>(n).fill(0);
  for (let r = 0; r < rowMajor.length; r++) {
    let c = 0;
    let stride = 1;
    for (let d = 0; d < n; d++) {
      c += (idx[d] as number) * stride;
      stride *= dims[d] as number;
    }
    out[c] = rowMajor[r] as number;
    for (let d = n - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (dims[d] as number)) break;
      idx[d] = 0;
    }
  }
  return out;
}
