/**
 * One camera interface, several sources, chosen by a spec string (create.ts):
 * `v4l2:/dev/videoN` (ffmpeg streaming, production), `webcam:<device>` (fswebcam still per interval),
 * `video:<file>` (ffmpeg replay at real rate), `dir:<folder>` (images in name order, looping).
 * A source never throws out of start() and never crashes the process: failures are states, and it keeps retrying.
 * Types only: the sources import this file, never the other way round.
 */
import type { Logger } from 'pino';
import type { Frame } from './frame.ts';

export type CameraState = 'starting' | 'streaming' | 'reconnecting' | 'no-camera';

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
  /** The fswebcam binary node-webcam runs (default `fswebcam`; tests name one that is not installed). */
  fswebcamPath?: string;
  /** A streaming source that delivers no frame for this long is restarted (default 10 s). */
  stallTimeoutMs?: number;
}

export type CameraStateListener = (state: CameraState, detail?: string) => void;
