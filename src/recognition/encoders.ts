/** The registry of encoders by id; each encoder lives in its own module. */
import { FacegateError } from '../util/errors.ts';
import { createDlibResnet128 } from './dlib-resnet128.ts';
import { createReid0095 } from './embed/reid-0095.ts';
import type { EncoderFactory, EncoderOptions, FaceEncoder } from './encoder.ts';
import { createFacenetNn4Small2 } from './facenet/encoder.ts';

export { DEFAULT_ENCODER, FACE_API_DEFAULT_ENCODER } from './encoder-traits.ts';

const factories: Record<string, EncoderFactory> = {
  'reid-0095': createReid0095,
  'dlib-resnet128': createDlibResnet128,
  'facenet-nn4small2': createFacenetNn4Small2,
};

export function encoderIds(): string[] {
  return Object.keys(factories);
}

export function createEncoder(id: string, opts: EncoderOptions): FaceEncoder {
  const factory = factories[id];
  if (!factory) throw new FacegateError(`unknown encoder "${id}" (known: ${encoderIds().join(', ')})`);
  return factory(opts);
}
