/**
 * Where fast styles live (`<models dir>/fast-style/<name>/`), which ones are worth using, and the `fast-style`
 * model kind for `facegate models list | import | fetch`.
 */
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fetchToFile } from '../../models/fetcher.ts';
import { MANIFEST_FILE, readManifest as readShaManifest, verifyFiles, writeManifest } from '../../models/manifest.ts';
import type { ModelKind, ModelListing } from '../../models/registry.ts';
import { errorMessage, FacegateError } from '../../util/errors.ts';
import { FAST_STYLE_NOTES, fastStyleDir, KNOWN_FAST_STYLES } from '../catalog.ts';
import pins from './style-pins.json' with { type: 'json' };
import { type FastStyleWeights, fastStyleFiles, loadFastStyle } from './weights.ts';

export { DEFAULT_FAST_STYLES, FAST_STYLE_NOTES, KNOWN_FAST_STYLES } from '../catalog.ts';

const PINNED = pins as Record<string, Record<string, string>>;
/** Public home of these checkpoints (MIT): the ml5js ml5-data-and-models repository. */
export const FAST_STYLE_BASE_URL =
  'https://raw.githubusercontent.com/ml5js/ml5-data-and-models/main/models/style-transfer';

export { fastStyleDir };

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function checkStyleName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name))
    throw new FacegateError(`invalid style name "${name}" (letters, digits, _ and - only)`);
}

/**
 * Finds and loads a style: `name` is a known style under the models directory, or a path to a style directory.
 * Missing weights say where they were looked for and how to get them.
 */
export async function loadStyleByName(modelsDir: string, name: string): Promise<FastStyleWeights> {
  const looksLikePath = name.includes('/') || name.includes(path.sep);
  const dir = looksLikePath ? path.resolve(name) : fastStyleDir(modelsDir, name);
  if (!looksLikePath) checkStyleName(name);
  if (!(await isDir(dir))) {
    if (looksLikePath) throw new FacegateError(`style directory ${dir} does not exist`);
    if (!KNOWN_FAST_STYLES.includes(name)) {
      throw new FacegateError(
        `unknown style "${name}" (known: ${KNOWN_FAST_STYLES.join(', ')}; or give a style directory)`,
      );
    }
    throw new FacegateError(
      `style "${name}" not found in ${dir} (get it with "facegate models fetch fast-style ${name}" or ` +
        `"facegate models import fast-style <dir> --name ${name}"; --models-dir / FACEGATE_MODELS_DIR set the directory)`,
    );
  }
  // Imported and fetched styles carry a sha256 manifest; a bare checkpoint directory is shape-checked only.
  if (await stat(path.join(dir, MANIFEST_FILE)).catch(() => undefined)) {
    await verifyFiles(dir, await readShaManifest(dir, `style ${name}`), `style ${name}`);
  }
  return loadFastStyle(dir, `style ${name}`);
}

/** Writes into a sibling temp directory and swaps it in, so a failed import never leaves half a style. */
async function installDir(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await writeManifest(tmp, fastStyleFiles());
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function listOne(modelsDir: string, name: string): Promise<ModelListing> {
  const dir = fastStyleDir(modelsDir, name);
  const note = FAST_STYLE_NOTES[name];
  const detail = note ? `${note.quality}: ${note.note}` : 'not a known style';
  if (!(await isDir(dir))) return { kind: 'fast-style', name, location: dir, status: 'missing', detail };
  try {
    await loadStyleByName(modelsDir, name);
    return { kind: 'fast-style', name, location: dir, status: 'ready', detail };
  } catch (err) {
    return { kind: 'fast-style', name, location: dir, status: 'invalid', detail: errorMessage(err) };
  }
}

export const fastStyleModelKind: ModelKind = {
  kind: 'fast-style',
  description: 'Johnson/Engstrom feed-forward style networks (ml5 checkpoint layout), one directory per style',
  async importFrom(source: string, modelsDir: string, name?: string): Promise<string> {
    const styleName = name ?? path.basename(path.resolve(source));
    checkStyleName(styleName);
    await loadFastStyle(path.resolve(source), `fast-style import from ${source}`);
    const target = fastStyleDir(modelsDir, styleName);
    await mkdir(path.dirname(target), { recursive: true });
    await installDir(target, async (tmp) => {
      for (const f of fastStyleFiles()) await cp(path.join(source, f), path.join(tmp, f));
    });
    return `imported fast style "${styleName}" into ${target}`;
  },
  async fetch(modelsDir: string, name?: string): Promise<string> {
    if (!name) throw new FacegateError(`name the style to fetch (one of: ${KNOWN_FAST_STYLES.join(', ')})`);
    const pinned = PINNED[name];
    if (!pinned) throw new FacegateError(`unknown style "${name}" (fetchable: ${Object.keys(PINNED).join(', ')})`);
    const target = fastStyleDir(modelsDir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await installDir(target, async (tmp) => {
      for (const [file, sha256] of Object.entries(pinned)) {
        await fetchToFile(`${FAST_STYLE_BASE_URL}/${name}/${file}`, path.join(tmp, file), {
          sha256,
          maxBytes: 8_000_000,
        });
      }
      await loadFastStyle(tmp, `fetched style ${name}`);
    });
    return `fetched fast style "${name}" into ${target}`;
  },
  async list(modelsDir: string): Promise<ModelListing[]> {
    const root = path.join(modelsDir, 'fast-style');
    const present = (await isDir(root)) ? (await readdir(root)).filter((d) => !d.includes('.tmp-')) : [];
    const names = [...new Set([...KNOWN_FAST_STYLES, ...present])].sort();
    return Promise.all(names.map((n) => listOne(modelsDir, n)));
  },
};
