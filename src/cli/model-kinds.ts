/** Every model kind `facegate models` handles; each domain adds its own here. */

import type { ModelKind } from '../models/registry.ts';
import { fastStyleModelKind } from '../nst/fast/style-kind.ts';
import { vgg19ModelKind } from '../nst/gatys/vgg-kind.ts';
import { faceApiModelKind } from '../recognition/face-api-models.ts';
import { facenetModelKind } from '../recognition/facenet/model-kind.ts';
import { faceReidModelKind, minifasnetModelKind, yunetModelKind } from '../recognition/graph-model-kinds.ts';

export const modelKinds: ModelKind[] = [
  faceApiModelKind,
  facenetModelKind,
  fastStyleModelKind,
  vgg19ModelKind,
  yunetModelKind,
  faceReidModelKind,
  minifasnetModelKind,
];
