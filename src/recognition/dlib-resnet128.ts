/**
 * `dlib-resnet128`: face-api's faceRecognitionNet, a ResNet-34-like network trained by dlib with a metric loss.
 * 150x150 aligned crop in, 128-d descriptor out (not unit-normalised; distances are raw Euclidean).
 * Default threshold 0.6: on 95 genuine / 2184 impostor real pairs the equal-error point is ~0.64; at 0.6 about
 * 0.8% of impostors are accepted and 3.2% of genuine attempts refused; at 0.7 ~8% of impostors get in.
 */
import type { EncoderFactory, FaceCrop, FaceEncoder } from './encoder.ts';
import { type FaceApiModule, loadFaceApiNets } from './face-api-models.ts';

export const createDlibResnet128: EncoderFactory = (): FaceEncoder => {
  let api: FaceApiModule | undefined;
  return {
    id: 'dlib-resnet128',
    dimension: 128,
    defaultThreshold: 0.6,
    cropSize: 150,
    async load() {
      api = await loadFaceApiNets(['faceRecognitionNet']);
    },
    async encode(faceCrop: FaceCrop): Promise<Float32Array> {
      if (!api) await this.load();
      const descriptor = await api!.nets.faceRecognitionNet.computeFaceDescriptor(faceCrop as never);
      return descriptor as Float32Array;
    },
    dispose() {
      // The net's weights are shared per thread (face-api keeps them in its singleton nets); nothing to free.
    },
  };
};
