/** Every model kind `facegate models` handles; each domain adds its own here. */

import { fastStyleModelKind } from '../nst/fast-style-kind.ts';
import { vgg19ModelKind } from '../nst/vgg-kind.ts';
import { faceApiModelKind } from '../recognition/face-api-models.ts';
import { facenetModelKind } from '../recognition/facenet/model-kind.ts';
import { faceReidModelKind, minifasnetModelKind, yunetModelKind } from '../recognition/graph-model-kinds.ts';
import type { ModelKind } from './registry.ts';

export const modelKinds: ModelKind[] = [
  faceApiModelKind,
  facenetModelKind,
  fastStyleModelKind,
  vgg19ModelKind,
  yunetModelKind,
  faceReidModelKind,
  minifasnetModelKind,
];
