/**
 * One camera interface, several sources, chosen by a spec string:
 * `v4l2:/dev/videoN` (ffmpeg streaming, production), `webcam:<device>` (fswebcam still per interval),
 * `video:<file>` (ffmpeg replay at real rate), `dir:<folder>` (images in name order, looping).
 * A source never throws out of start() and never crashes the process: failures are states, and it keeps retrying.
 */
import type { Logger } from 'pino';
import type { CameraState } from '../../bus/event-bus.ts';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { DirCamera } from './dir-source.ts';
import { FfmpegCamera } from './ffmpeg-source.ts';
import type { Frame } from './frame.ts';
import { WebcamCamera } from './webcam-source.ts';

export type { CameraState } from '../../bus/event-bus.ts';

export interface CameraSource {
  readonly description: string;
  start(onFrame: (frame: Frame) => void, onState: (state: CameraState, detail?: string) => void): void;
  stop(): Promise<void>;
}

export interface CameraOptions {
  /** Frame size delivered (default 640x480). ffmpeg sources letterbox to it; `dir` delivers images as decoded. */
  width?: number;
  height?: number;
  /** Capture rate for v4l2 and dir (default 10); for video, resamples when given, else the file's own rate. */
  fps?: number;
  /** Replay video/dir forever (default true). When false the source ends with state `no-camera` "end of ...". */
  loop?: boolean;
  /** webcam: time between shots (default 1000 ms); dir: overrides 1000/fps. */
  intervalMs?: number;
  logger?: Logger;
  /** The ffmpeg binary (default `ffmpeg`). */
  ffmpegPath?: string;
  /** A streaming source that delivers no frame for this long is restarted (default 10 s). */
  stallTimeoutMs?: number;
}

export type CameraStateListener = (state: CameraState, detail?: string) => void;

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
