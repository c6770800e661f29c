/**
 * sha256 manifests for weight directories: written when weights are imported or fetched, checked before they
 * are used, so a half-copied or tampered model is refused with a clear message instead of giving wrong faces.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FacegateError } from '../util/errors.ts';

export const MANIFEST_FILE = 'sha256.json';

export type Sha256Manifest = Record<string, string>;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeManifest(dir: string, files: string[]): Promise<Sha256Manifest> {
  const manifest: Sha256Manifest = {};
  for (const f of [...files].sort()) manifest[f] = await sha256File(path.join(dir, f));
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Checks every file listed against its hash; throws naming the first missing or differing file. */
export async function verifyFiles(dir: string, manifest: Sha256Manifest, what: string): Promise<void> {
  for (const [file, expected] of Object.entries(manifest)) {
    let actual: string;
    try {
      actual = await sha256File(path.join(dir, file));
    } catch {
      throw new FacegateError(`${what}: model file missing: ${path.join(dir, file)}`);
    }
    if (actual !== expected) {
      throw new FacegateError(
        `${what}: model file ${path.join(dir, file)} differs from its recorded sha256 (corrupt or replaced)`,
      );
    }
  }
}

export async function readManifest(dir: string, what: string): Promise<Sha256Manifest> {
  try {
    return JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as Sha256Manifest;
  } catch {
    throw new FacegateError(
      `${what}: no ${MANIFEST_FILE} in ${dir} (import the weights with "facegate models import")`,
    );
  }
}
