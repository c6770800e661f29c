/**
 * face-api (@vladmandic/face-api) and its model files, loaded from the npm package's `model/` folder on disk —
 * no fetch, no URL. Each file is checked against the sha256 recorded in `face-api-models.json` before use, so a
 * changed package or a damaged install is refused with a clear message instead of silently changing who matches.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as FaceApi from '@vladmandic/face-api';
import { type Sha256Manifest, verifyFiles } from '../models/manifest.ts';
import type { ModelKind, ModelListing } from '../models/registry.ts';
import { tf } from '../runtime/tf.ts';
import recordedHashes from './face-api-models.json' with { type: 'json' };

export type FaceApiModule = typeof FaceApi;
export type FaceApiNet = 'tinyFaceDetector' | 'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet';

const require = createRequire(import.meta.url);

const NET_FILES: Record<FaceApiNet, string> = {
  tinyFaceDetector: 'tiny_face_detector_model',
  ssdMobilenetv1: 'ssd_mobilenetv1_model',
  faceLandmark68Net: 'face_landmark_68_model',
  faceRecognitionNet: 'face_recognition_model',
};

export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

let faceApi: FaceApiModule | undefined;

/** The node-wasm bundle shares our tfjs instance (both `require('@tensorflow/tfjs')`). */
export function loadFaceApi(): FaceApiModule {
  if (!faceApi) {
    // Loaded after the backend is chosen, so face-api never initialises one of its own.
    void tf;
    faceApi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  }
  return faceApi;
}

function hashesFor(net: FaceApiNet): Sha256Manifest {
  const base = NET_FILES[net];
  const all = recordedHashes as Sha256Manifest;
  return Object.fromEntries(
    Object.entries(all).filter(([file]) => file.startsWith(`${base}.`) || file.startsWith(`${base}-`)),
  );
}

const loaded = new Set<FaceApiNet>();

/** Verifies and loads the named nets (once each per thread). */
export async function loadFaceApiNets(nets: FaceApiNet[]): Promise<FaceApiModule> {
  const api = loadFaceApi();
  const dir = faceApiModelDir();
  for (const net of nets) {
    if (loaded.has(net)) continue;
    await verifyFiles(dir, hashesFor(net), `face-api ${net}`);
    await api.nets[net].loadFromDisk(dir);
    loaded.add(net);
  }
  return api;
}

export const faceApiModelKind: ModelKind = {
  kind: 'face-api',
  description: 'shipped inside the @vladmandic/face-api npm package; installed by npm ci',
  async list(): Promise<ModelListing[]> {
    const dir = faceApiModelDir();
    const rows: ModelListing[] = [];
    for (const net of Object.keys(NET_FILES) as FaceApiNet[]) {
      let status: ModelListing['status'] = 'ready';
      let detail: string | undefined;
      try {
        await verifyFiles(dir, hashesFor(net), net);
      } catch (err) {
        status = 'invalid';
        detail = (err as Error).message;
      }
      rows.push({ kind: 'face-api', name: net, location: dir, status, detail });
    }
    return rows;
  },
};
