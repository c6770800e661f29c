/**
 * A reader for the part of MATLAB's level-5 MAT format that MatConvNet's `imagenet-vgg-verydeep-19.mat` uses:
 * miCOMPRESSED (zlib) top-level variables, miMATRIX elements of class cell, struct, char and numeric (single,
 * double and the integer classes), small data elements. Little-endian files only; v7.3 (HDF5) files are refused.
 *
 * Why not an npm package: mat-for-js (the maintained JS reader found) turns numeric arrays into nested plain JS
 * arrays, which for VGG-19's 144 M weights would cost several GB; here numeric data stay typed-array views on the
 * inflated buffer (no copy when aligned).
 */
import { inflateSync } from 'node:zlib';
import { FacegateError } from '../../util/errors.ts';

export type MatValue =
  | { kind: 'numeric'; className: string; dims: number[]; values: Float32Array }
  | { kind: 'char'; dims: number[]; text: string }
  | { kind: 'cell'; dims: number[]; items: MatValue[] }
  | { kind: 'struct'; dims: number[]; fieldNames: string[]; elements: Record<string, MatValue>[] };

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
} as const;

export const MX = { CELL: 1, STRUCT: 2, CHAR: 4, DOUBLE: 6, SINGLE: 7 } as const;

const NUMERIC_CLASSES: Record<number, string> = {
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
};

class MatFormatError extends FacegateError {}

interface Element {
  type: number;
  data: Buffer;
  /** Offset of the next element. */
  next: number;
}

function readElement(buf: Buffer, offset: number, label: string): Element {
  if (offset + 8 > buf.length) throw new MatFormatError(`${label}: truncated MAT file (element header at ${offset})`);
  const first = buf.readUInt32LE(offset);
  // Small data element: size in the upper 16 bits, up to 4 data bytes packed into the tag itself.
  if (first >>> 16 !== 0) {
    const size = first >>> 16;
    if (size > 4) throw new MatFormatError(`${label}: malformed small data element at ${offset}`);
    return { type: first & 0xffff, data: buf.subarray(offset + 4, offset + 4 + size), next: offset + 8 };
  }
  const size = buf.readUInt32LE(offset + 4);
  const start = offset + 8;
  if (start + size > buf.length)
    throw new MatFormatError(`${label}: truncated MAT file (element of ${size} bytes at ${offset})`);
  // Compressed elements are not padded; everything else is padded to 8 bytes.
  const padded = first === MI.COMPRESSED ? size : Math.ceil(size / 8) * 8;
  return { type: first, data: buf.subarray(start, start + size), next: start + padded };
}

function toFloat32(type: number, data: Buffer, label: string): Float32Array {
  const aligned = (n: number) => (data.byteOffset % n === 0 ? data : Buffer.from(data));
  switch (type) {
    case MI.SINGLE: {
      const d = aligned(4);
      return new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4);
    }
    case MI.DOUBLE: {
      const d = aligned(8);
      return Float32Array.from(new Float64Array(d.buffer, d.byteOffset, d.byteLength / 8));
    }
    case MI.INT8:
      return Float32Array.from(new Int8Array(data.buffer, data.byteOffset, data.byteLength));
    case MI.UINT8:
      return Float32Array.from(data);
    case MI.INT16: {
      const d = aligned(2);
      return Float32Array.from(new Int16Array(d.buffer, d.byteOffset, d.byteLength / 2));
    }
    case MI.UINT16: {
      const d = aligned(2);
      return Float32Array.from(new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2));
    }
    case MI.INT32: {
      const d = aligned(4);
      return Float32Array.from(new Int32Array(d.buffer, d.byteOffset, d.byteLength / 4));
    }
    case MI.UINT32: {
      const d = aligned(4);
      return Float32Array.from(new Uint32Array(d.buffer, d.byteOffset, d.byteLength / 4));
    }
    default:
      throw new MatFormatError(`${label}: unsupported numeric data type ${type}`);
  }
}

function decodeChars(type: number, data: Buffer): string {
  if (type === MI.UINT16 || type === MI.UTF16) {
    let s = '';
    for (let i = 0; i + 1 < data.length; i += 2) s += String.fromCharCode(data.readUInt16LE(i));
    return s;
  }
  return data.toString(type === MI.UTF8 ? 'utf8' : 'latin1');
}

/** Parses the body of a miMATRIX element; returns the value and its variable name (empty inside containers). */
function parseMatrix(body: Buffer, label: string): { name: string; value: MatValue } {
  if (body.length === 0)
    return { name: '', value: { kind: 'numeric', className: 'double', dims: [0, 0], values: new Float32Array(0) } };
  const flags = readElement(body, 0, label);
  if (flags.type !== MI.UINT32 || flags.data.length < 8)
    throw new MatFormatError(`${label}: miMATRIX without array flags`);
  const classId = flags.data.readUInt32LE(0) & 0xff;
  const complex = (flags.data.readUInt32LE(0) & 0x0800) !== 0;
  const dimsEl = readElement(body, flags.next, label);
  if (dimsEl.type !== MI.INT32) throw new MatFormatError(`${label}: miMATRIX without dimensions`);
  const dims = Array.from({ length: dimsEl.data.length / 4 }, (_, i) => dimsEl.data.readInt32LE(i * 4));
  const count = dims.reduce((a, b) => a * b, 1);
  const nameEl = readElement(body, dimsEl.next, label);
  const name = nameEl.data.toString('latin1');
  let pos = nameEl.next;
  const where = name ? `${label} ${name}` : label;

  if (classId === MX.CELL) {
    const items: MatValue[] = [];
    for (let i = 0; i < count; i++) {
      const el = readElement(body, pos, where);
      if (el.type !== MI.MATRIX) throw new MatFormatError(`${where}: cell item ${i} is not a matrix`);
      items.push(parseMatrix(el.data, `${where}{${i}}`).value);
      pos = el.next;
    }
    return { name, value: { kind: 'cell', dims, items } };
  }
  if (classId === MX.STRUCT) {
    const lenEl = readElement(body, pos, where);
    const fieldLen = lenEl.data.readInt32LE(0);
    const namesEl = readElement(body, lenEl.next, where);
    pos = namesEl.next;
    const fieldNames: string[] = [];
    for (let off = 0; fieldLen > 0 && off + fieldLen <= namesEl.data.length; off += fieldLen) {
      fieldNames.push(
        namesEl.data
          .subarray(off, off + fieldLen)
          .toString('latin1')
          .replace(/\0.*$/s, ''),
      );
    }
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const rec: Record<string, MatValue> = {};
      for (const field of fieldNames) {
        const el = readElement(body, pos, where);
        if (el.type !== MI.MATRIX) throw new MatFormatError(`${where}: struct field ${field} is not a matrix`);
        rec[field] = parseMatrix(el.data, `${where}.${field}`).value;
        pos = el.next;
      }
      elements.push(rec);
    }
    return { name, value: { kind: 'struct', dims, fieldNames, elements } };
  }
  if (classId === MX.CHAR) {
    const el = readElement(body, pos, where);
    return { name, value: { kind: 'char', dims, text: decodeChars(el.type, el.data) } };
  }
  const className = NUMERIC_CLASSES[classId];
  if (!className) throw new MatFormatError(`${where}: unsupported MATLAB class ${classId}`);
  if (complex) throw new MatFormatError(`${where}: complex arrays are not supported`);
  const real = readElement(body, pos, where);
  const values = toFloat32(real.type, real.data, where);
  if (values.length !== count)
    throw new MatFormatError(`${where}: ${values.length} values for dimensions ${dims.join('x')}`);
  return { name, value: { kind: 'numeric', className, dims, values } };
}

/** Reads every top-level variable of a level-5 MAT file held in memory. */
export function readMat5(buf: Buffer, label = 'MAT file'): Map<string, MatValue> {
  if (buf.length < 128) throw new MatFormatError(`${label}: too short to be a MAT file`);
  const header = buf.subarray(0, 116).toString('latin1');
  if (header.startsWith('MATLAB 7.3'))
    throw new MatFormatError(`${label}: MAT v7.3 (HDF5) files are not supported; save with -v7`);
  if (!header.startsWith('MATLAB 5.0 MAT-file')) throw new MatFormatError(`${label}: not a MATLAB 5.0 MAT-file`);
  const endian = buf.subarray(126, 128).toString('latin1');
  if (endian !== 'IM') throw new MatFormatError(`${label}: big-endian MAT files are not supported`);
  const vars = new Map<string, MatValue>();
  let pos = 128;
  while (pos < buf.length) {
    const el = readElement(buf, pos, label);
    pos = el.next;
    let matrix: Element = el;
    if (el.type === MI.COMPRESSED) {
      let inflated: Buffer;
      try {
        inflated = inflateSync(el.data);
      } catch {
        throw new MatFormatError(`${label}: compressed variable is corrupt`);
      }
      matrix = readElement(inflated, 0, label);
    }
    if (matrix.type !== MI.MATRIX) continue;
    const { name, value } = parseMatrix(matrix.data, label);
    vars.set(name, value);
  }
  return vars;
}
