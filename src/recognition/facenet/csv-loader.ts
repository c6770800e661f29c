/**
 * Reads the exercise's weight format: a directory of one-line CSV files, one per tensor (`<name>.csv`), values
 * comma-separated in the stored layout, lines ending in CRLF. Other files in the directory (the export left two
 * strays the exercise never reads) are ignored.
 *
 * All-or-nothing: every listed file is checked to exist before any is parsed, so the error names the first missing
 * file in table order; then each file's value count is checked against the table. Nothing partial is returned.
 */
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FacegateError } from '../../util/errors.ts';
import { FACENET_TENSORS, type TensorSpec } from './shape-table.ts';
import { completeWeightTable, type WeightTable } from './weight-table.ts';

export function csvFileName(tensorName: string): string {
  return `${tensorName}.csv`;
}

/** Parses one file's text; `label` names the file in errors. Accepts LF or CRLF, and values split over lines. */
export function parseCsvValues(text: string, label: string): Float32Array {
  const body = text.trim();
  if (body === '') return new Float32Array(0);
  // Number() itself ignores surrounding whitespace (the CR of a CRLF included), so splitting on , and LF suffices.
  const tokens = body.split(/[,\n]/);
  const out = new Float32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    // Number('') is 0, so an empty field (",,") must be refused explicitly rather than read as a zero weight.
    const v = token.trim() === '' ? Number.NaN : Number(token);
    if (!Number.isFinite(v)) {
      throw new FacegateError(
        `${label}: value ${i + 1} is not a finite number (${JSON.stringify(token.slice(0, 40))})`,
      );
    }
    out[i] = v;
  }
  return out;
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

async function firstMissing(
  dir: string,
  tensors: readonly TensorSpec[],
): Promise<{ first: string; count: number } | null> {
  const missing: string[] = [];
  await Promise.all(
    tensors.map(async (t, i) => {
      try {
        await access(path.join(dir, csvFileName(t.name)));
      } catch {
        missing[i] = csvFileName(t.name);
      }
    }),
  );
  const present = missing.filter((m) => m !== undefined);
  return present.length > 0 ? { first: present[0] as string, count: present.length } : null;
}

/** Loads and validates all 224 tensors from a CSV directory in the exercise's format. */
export async function loadCsvWeights(dir: string): Promise<WeightTable> {
  const where = path.resolve(dir);
  if (!(await isDirectory(where))) {
    throw new FacegateError(`FaceNet CSV weights: ${where} is not a directory`);
  }
  const missing = await firstMissing(where, FACENET_TENSORS);
  if (missing) {
    const others = missing.count > 1 ? ` (and ${missing.count - 1} more)` : '';
    throw new FacegateError(
      `FaceNet CSV weights in ${where}: missing ${missing.first}${others}; all ${FACENET_TENSORS.length} files are required`,
    );
  }
  const values = new Map<string, Float32Array>();
  // Sequential on purpose: the files total ~40 MB of text, and parsing them one at a time bounds peak memory.
  for (const t of FACENET_TENSORS) {
    const file = path.join(where, csvFileName(t.name));
    const parsed = parseCsvValues(await readFile(file, 'utf8'), file);
    if (parsed.length !== t.size) {
      throw new FacegateError(
        `FaceNet CSV weights: ${file} has ${parsed.length} values, expected ${t.size} for shape [${t.shape.join(', ')}]`,
      );
    }
    values.set(t.name, parsed);
  }
  return completeWeightTable(where, values);
}
