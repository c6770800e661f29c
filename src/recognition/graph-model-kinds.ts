/**
 * The model kinds of the graph-executor networks, with pinned sha256s and their public homes:
 * - `yunet`: YuNet 2023mar (MIT), opencv_zoo at commit 966be4cb (a Git LFS object: GitHub's /raw/ URL redirects
 *   to its media host);
 * - `face-reid`: face-reidentification-retail-0095 FP16 IR (Apache-2.0), Open Model Zoo 2023.0 models_bin;
 * - `minifasnet`: MiniFASNetV2 and MiniFASNetV1SE ONNX (Apache-2.0), marcos4758/Silent-Face-Anti-Spoofing-Tests
 *   at commit 1557f99a.
 * Each is validated after download or import by reading its graph (a file that hashes right but cannot be read
 * would not get this far, but the check also proves the reader accepts the release).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type PinnedModelSpec, pinnedModelKind } from '../models/pinned-kind.ts';
import { readIr } from '../runtime/graph/ir-reader.ts';
import { readOnnx } from '../runtime/graph/onnx-reader.ts';

const YUNET_COMMIT = '966be4cb6eefc2a4f586ed0581bf4bbaa2533070';
const MINIFASNET_COMMIT = '1557f99a6ca5d485763cc42d42b614a72a3ede7c';
const OMZ_FP16 =
  'https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP16';

export const YUNET_FILE = 'face_detection_yunet_2023mar.onnx';
export const REID_XML = 'face-reidentification-retail-0095.xml';
export const REID_BIN = 'face-reidentification-retail-0095.bin';
export const MINIFASNET_V2_FILE = '2.7_80x80_MiniFASNetV2.onnx';
export const MINIFASNET_V1SE_FILE = '4_0_0_80x80_MiniFASNetV1SE.onnx';

async function readsAsOnnx(dir: string, files: string[]): Promise<void> {
  for (const f of files) readOnnx(await readFile(path.join(dir, f)), f);
}

export const yunetSpec: PinnedModelSpec = {
  kind: 'yunet',
  name: 'yunet-2023mar',
  description: 'YuNet face detector with five keypoints (opencv_zoo, MIT)',
  subdir: 'yunet',
  files: [
    {
      file: YUNET_FILE,
      sha256: '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4',
      url: `https://github.com/opencv/opencv_zoo/raw/${YUNET_COMMIT}/models/face_detection_yunet/${YUNET_FILE}`,
      maxBytes: 1_000_000,
    },
  ],
  validate: (dir) => readsAsOnnx(dir, [YUNET_FILE]),
};

export const faceReidSpec: PinnedModelSpec = {
  kind: 'face-reid',
  name: 'face-reidentification-retail-0095',
  description: 'OpenVINO face-reidentification-retail-0095, 256-d face embedding (Open Model Zoo, Apache-2.0)',
  subdir: 'face-reid-0095',
  files: [
    {
      file: REID_XML,
      sha256: 'ce53d2c9c08c0bd1c1660fb8a5b6d0e3e4ec19eb92f1036d2d83a85e83082dce',
      url: `${OMZ_FP16}/${REID_XML}`,
      maxBytes: 2_000_000,
    },
    {
      file: REID_BIN,
      sha256: '241229ca3d206321868d46ce74a3c0b06c49cea58db7dc70b2e842ff287545d1',
      url: `${OMZ_FP16}/${REID_BIN}`,
      maxBytes: 8_000_000,
    },
  ],
  async validate(dir) {
    readIr(await readFile(path.join(dir, REID_XML)), await readFile(path.join(dir, REID_BIN)), REID_XML);
  },
};

const minifasnetUrl = (file: string) =>
  `https://raw.githubusercontent.com/marcos4758/Silent-Face-Anti-Spoofing-Tests/${MINIFASNET_COMMIT}/resources/anti_spoof_models/${file}`;

export const minifasnetSpec: PinnedModelSpec = {
  kind: 'minifasnet',
  name: 'minifasnet-v2+v1se',
  description: 'MiniFASNetV2 (2.7) and MiniFASNetV1SE (4.0) passive anti-spoofing networks (Apache-2.0)',
  subdir: 'minifasnet',
  files: [
    {
      file: MINIFASNET_V2_FILE,
      sha256: '4433e871ef03f6c4c13de1757e63dcd69db14b6d7d9cff2319cb274c0f6dbecb',
      url: minifasnetUrl(MINIFASNET_V2_FILE),
      maxBytes: 4_000_000,
    },
    {
      file: MINIFASNET_V1SE_FILE,
      sha256: 'a8e67ffbaf39fa74c3b2ed673b530fcfb2f47379d0f26a52b71c2fc6473ec20f',
      url: minifasnetUrl(MINIFASNET_V1SE_FILE),
      maxBytes: 4_000_000,
    },
  ],
  validate: (dir) => readsAsOnnx(dir, [MINIFASNET_V2_FILE, MINIFASNET_V1SE_FILE]),
};

export const yunetModelKind = pinnedModelKind(yunetSpec);
export const faceReidModelKind = pinnedModelKind(faceReidSpec);
export const minifasnetModelKind = pinnedModelKind(minifasnetSpec);
