/**
 * Every model kind `facegate models` handles; each domain adds its own here. Loaded when a `models` command runs:
 * the kinds bring tfjs, protobufjs and the XML parser with them, which the rest of the CLI does not need.
 */
import type { ModelKind } from '../models/registry.ts';

export async function loadModelKinds(): Promise<ModelKind[]> {
  const [fast, vgg, faceApi, facenet, graph] = await Promise.all([
    import('../nst/fast/style-kind.ts'),
    import('../nst/gatys/vgg-kind.ts'),
    import('../recognition/face-api-models.ts'),
    import('../recognition/facenet/model-kind.ts'),
    import('../recognition/graph-model-kinds.ts'),
  ]);
  return [
    faceApi.faceApiModelKind,
    facenet.facenetModelKind,
    fast.fastStyleModelKind,
    vgg.vgg19ModelKind,
    graph.yunetModelKind,
    graph.faceReidModelKind,
    graph.minifasnetModelKind,
  ];
}
