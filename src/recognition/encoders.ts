/** The registry of encoders by id; each encoder lives in its own module. */
import { FacegateError } from '../util/errors.ts';
import { createDlibResnet128 } from './dlib-resnet128.ts';
import type { EncoderFactory, EncoderOptions, FaceEncoder } from './encoder.ts';
import { createFacenetNn4Small2 } from './facenet/encoder.ts';

export { DEFAULT_ENCODER } from './encoder.ts';

const factories: Record<string, EncoderFactory> = {
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
