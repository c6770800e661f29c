/**
 * The `vgg19` model kind: MatConvNet's imagenet-vgg-verydeep-19.mat (~510 MB) for Gatys style transfer.
 *
 * Its sha256 could not be determined when this was written (no network to the file's host), so nothing is
 * pinned: `models fetch vgg19` refuses unless the user supplies the hash they trust in FACEGATE_VGG19_SHA256
 * (for example from a copy they already verified). `models import vgg19 <file>` copies an existing file and
 * records its sha256; Gatys also accepts `--vgg <file>` pointing at any copy.
 */
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fetchToFile } from '../../models/fetcher.ts';
import { writeManifest } from '../../models/manifest.ts';
import type { ModelKind, ModelListing } from '../../models/registry.ts';
import { FacegateError } from '../../util/errors.ts';
import { VGG19_FILE, VGG19_URL, vgg19HowToGet, vgg19Path } from '../catalog.ts';
import { loadVgg19 } from './vgg.ts';

export { VGG19_FILE, VGG19_URL, vgg19Path };
/** Pin the real hash here once known; until then the user must supply one. */
export const VGG19_SHA256: string | undefined = undefined;

async function headerOk(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(20);
    await fh.read(buf, 0, 20, 0);
    return buf.toString('latin1').startsWith('MATLAB 5.0 MAT-file');
  } finally {
    await fh.close();
  }
}

export const vgg19ModelKind: ModelKind = {
  kind: 'vgg19',
  description: 'MatConvNet imagenet-vgg-verydeep-19.mat for Gatys style transfer',
  async importFrom(source: string, modelsDir: string): Promise<string> {
    await loadVgg19(path.resolve(source));
    const target = vgg19Path(modelsDir);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.part`;
    await copyFile(source, tmp);
    await rename(tmp, target);
    await writeManifest(path.dirname(target), [VGG19_FILE]);
    return `imported VGG-19 into ${target}`;
  },
  async fetch(modelsDir: string): Promise<string> {
    const sha256 = VGG19_SHA256 ?? process.env.FACEGATE_VGG19_SHA256?.trim().toLowerCase();
    if (!sha256) {
      throw new FacegateError(`no pinned sha256 for ${VGG19_FILE}, so nothing was downloaded: ${vgg19HowToGet()}`);
    }
    const target = vgg19Path(modelsDir);
    const got = await fetchToFile(VGG19_URL, target, { sha256, maxBytes: 700_000_000, timeoutMs: 60_000 });
    try {
      await loadVgg19(target);
    } catch (err) {
      await rm(target, { force: true });
      throw err;
    }
    await writeManifest(path.dirname(target), [VGG19_FILE]);
    return `fetched VGG-19 (${got.bytes} bytes) into ${target}`;
  },
  async list(modelsDir: string): Promise<ModelListing[]> {
    const file = vgg19Path(modelsDir);
    const row: ModelListing = {
      kind: 'vgg19',
      name: 'vgg19',
      location: file,
      status: 'missing',
      detail: 'for --method gatys',
    };
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile()) {
      row.status = (await headerOk(file)) ? 'ready' : 'invalid';
      if (row.status === 'invalid') row.detail = 'not a MAT v5 file';
    }
    return [row];
  },
};
