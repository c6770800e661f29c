/** The camera a spec string names: `v4l2:/dev/videoN`, `webcam:<device>`, `video:<file>` or `dir:<folder>`. */
import { ExitCode, FacegateError } from '../../util/errors.ts';
import type { CameraOptions, CameraSource } from './camera.ts';
import { DirCamera } from './dir-source.ts';
import { FfmpegCamera } from './ffmpeg-source.ts';
import { WebcamCamera } from './webcam-source.ts';

export function createCamera(spec: string, opts: CameraOptions = {}): CameraSource {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  if (!arg) throw badSpec(spec);
  switch (kind) {
    case 'v4l2':
      return new FfmpegCamera('v4l2', arg, opts);
    case 'video':
      return new FfmpegCamera('video', arg, opts);
    case 'dir':
      return new DirCamera(arg, opts);
    case 'webcam':
      return new WebcamCamera(arg, opts);
    default:
      throw badSpec(spec);
  }
}

function badSpec(spec: string): FacegateError {
  return new FacegateError(
    `camera "${spec}": expected v4l2:/dev/videoN | webcam:<device> | video:<file> | dir:<folder>`,
    ExitCode.config,
  );
}
