/**
 * A model kind made of a few files with pinned sha256s and public download URLs (YuNet, reid-0095, MiniFASNet):
 * `models fetch <kind>` downloads them, `models import <kind> <dir>` copies them from a directory (offline
 * machines), `models list` reports them. Files are staged in a sibling temp directory, checked against their pins,
 * test-loaded, and only then swapped into place, so a failed or interrupted fetch or import never leaves a partial
 * model where the loader would find it.
 */
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { fetchToFile } from './fetcher.ts';
import { sha256File, verifyFiles } from './manifest.ts';
import type { ModelKind, ModelListing } from './registry.ts';

export interface PinnedFile {
  file: string;
  sha256: string;
  url: string;
  maxBytes: number;
}

export interface PinnedModelSpec {
  kind: string;
  /** The model's name in `models list`. */
  name: string;
  description: string;
  /** Directory under the models directory. */
  subdir: string;
  files: readonly PinnedFile[];
  /** Parses the staged files (e.g. reads the graph) so a file that hashes right but cannot load is refused. */
  validate?(dir: string): Promise<void>;
}

export function pinnedModelDir(modelsDir: string, spec: PinnedModelSpec): string {
  return path.join(modelsDir, spec.subdir);
}

function manifestOf(spec: PinnedModelSpec): Record<string, string> {
  return Object.fromEntries(spec.files.map((f) => [f.file, f.sha256]));
}

/**
 * The model's file paths after checking every file against its pinned sha256; a missing or altered file is one
 * line saying how to get the model.
 */
export async function verifiedModelFiles(modelsDir: string, spec: PinnedModelSpec): Promise<Record<string, string>> {
  const dir = pinnedModelDir(modelsDir, spec);
  const how = `get it with "facegate models fetch ${spec.kind}" or "facegate models import ${spec.kind} <dir>"`;
  for (const f of spec.files) {
    if (!(await stat(path.join(dir, f.file)).catch(() => undefined))?.isFile()) {
      throw new FacegateError(`${spec.kind} model not found: ${path.join(dir, f.file)} is missing (${how})`);
    }
  }
  await verifyFiles(dir, manifestOf(spec), `${spec.kind} model`);
  return Object.fromEntries(spec.files.map((f) => [f.file, path.join(dir, f.file)]));
}

async function install(target: string, spec: PinnedModelSpec, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await verifyFiles(tmp, manifestOf(spec), `${spec.kind} model`);
    await spec.validate?.(tmp);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export function pinnedModelKind(spec: PinnedModelSpec): ModelKind {
  return {
    kind: spec.kind,
    description: spec.description,
    async importFrom(source: string, modelsDir: string): Promise<string> {
      const from = path.resolve(source);
      if (!(await stat(from).catch(() => undefined))?.isDirectory()) {
        throw new FacegateError(
          `${source} is not a directory (expected one holding ${spec.files.map((f) => f.file).join(', ')})`,
        );
      }
      for (const f of spec.files) {
        const file = path.join(from, f.file);
        const actual = await sha256File(file).catch(() => undefined);
        if (actual === undefined) throw new FacegateError(`${file} is missing or unreadable`);
        if (actual !== f.sha256) {
          throw new FacegateError(`${file} has sha256 ${actual}, not the pinned ${f.sha256} (a different release?)`);
        }
      }
      const target = pinnedModelDir(modelsDir, spec);
      await mkdir(modelsDir, { recursive: true });
      await install(target, spec, async (tmp) => {
        for (const f of spec.files) await copyFile(path.join(from, f.file), path.join(tmp, f.file));
      });
      return `imported ${spec.kind} into ${target}`;
    },
    async fetch(modelsDir: string): Promise<string> {
      const target = pinnedModelDir(modelsDir, spec);
      await mkdir(modelsDir, { recursive: true });
      let bytes = 0;
      await install(target, spec, async (tmp) => {
        for (const f of spec.files) {
          const got = await fetchToFile(f.url, path.join(tmp, f.file), { sha256: f.sha256, maxBytes: f.maxBytes });
          bytes += got.bytes;
        }
      });
      return `fetched ${spec.kind} (${bytes} bytes, sha256 checked) into ${target}`;
    },
    async list(modelsDir: string): Promise<ModelListing[]> {
      const location = pinnedModelDir(modelsDir, spec);
      const row: ModelListing = { kind: spec.kind, name: spec.name, location, status: 'ready' };
      try {
        await verifiedModelFiles(modelsDir, spec);
      } catch (err) {
        row.status = / not found: /.test(errorMessage(err)) ? 'missing' : 'invalid';
        row.detail = errorMessage(err);
      }
      return [row];
    },
  };
}
