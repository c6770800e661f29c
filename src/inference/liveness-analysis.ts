/**
 * Anti-spoofing cues of a live frame, computed in the inference worker for the largest face only (issue 12):
 * - passive: the fused MiniFASNet P(real) (recognition/liveness/minifasnet.ts), cut from the WHOLE frame around
 *   the detector's box — never from a tight crop (`--no-detect` images never come here: live frames only);
 * - active: face-api's 68 landmarks of that face, found on the box (the landmark net's own crop rule), in frame
 *   pixels, for the challenge's yaw, blink and planarity cues.
 * Works from (frame, box) only, so it does not depend on which detector or encoder the pipeline runs.
 * A model that cannot load leaves that cue off and says why (`padStatus`): the door flow then fails secure.
 */
import type { FaceBox } from '../recognition/pipeline.ts';
import type { RgbImage } from '../runtime/image.ts';
import { tf } from '../runtime/tf.ts';
import { errorMessage } from '../util/errors.ts';
import type { LivenessOptions } from './protocol.ts';

type MiniFasNet = import('../recognition/liveness/minifasnet.ts').MiniFasNet;
type FaceApi = import('../recognition/face-api-models.ts').FaceApiModule;

export interface LivenessCues {
  pad?: number;
  landmarks68?: Float32Array;
}

export class LivenessAnalysis {
  /** 'ready', 'off' (not asked for) or the reason the MiniFASNets could not load. */
  readonly padStatus: string;

  private constructor(
    private readonly pad: MiniFasNet | null,
    private readonly api: FaceApi | null,
    padStatus: string,
  ) {
    this.padStatus = padStatus;
  }

  /** Loads what `options` asks for; a PAD model that fails to load is reported, not thrown. */
  static async create(options: LivenessOptions | undefined): Promise<LivenessAnalysis | null> {
    if (!options || (!options.padFiles && !options.landmarks)) return null;
    let pad: MiniFasNet | null = null;
    let padStatus = 'off';
    if (options.padFiles) {
      try {
        const { MiniFasNet } = await import('../recognition/liveness/minifasnet.ts');
        pad = await MiniFasNet.load(options.padFiles.v2, options.padFiles.v1se);
        padStatus = 'ready';
      } catch (err) {
        padStatus = `MiniFASNet could not load: ${errorMessage(err)}`;
      }
    }
    let api: FaceApi | null = null;
    if (options.landmarks) {
      const { loadFaceApiNets } = await import('../recognition/face-api-models.ts');
      api = await loadFaceApiNets(['faceLandmark68Net']);
    }
    return new LivenessAnalysis(pad, api, padStatus);
  }

  /** The cues of the face at `box` (full-frame coordinates) in `frame`. */
  async analyse(frame: RgbImage, box: FaceBox): Promise<LivenessCues> {
    const cues: LivenessCues = {};
    if (!(box.width > 1 && box.height > 1)) return cues;
    if (this.pad) cues.pad = (await this.pad.score(frame, box)).score;
    if (this.api) cues.landmarks68 = await this.landmarks(this.api, frame, box);
    return cues;
  }

  private async landmarks(api: FaceApi, frame: RgbImage, box: FaceBox): Promise<Float32Array | undefined> {
    const image = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
    try {
      const rect = new api.Rect(box.x, box.y, box.width, box.height);
      const [face] = await api.extractFaceTensors(image as never, [rect]);
      if (!face) return undefined;
      let found: InstanceType<FaceApi['FaceLandmarks68']>;
      try {
        found = (await api.nets.faceLandmark68Net.detectLandmarks(face as never)) as InstanceType<
          FaceApi['FaceLandmarks68']
        >;
      } finally {
        face.dispose();
      }
      // The net answers in the crop's pixels; the crop was cut at the box clipped to the frame and floored.
      const x0 = Math.floor(Math.max(0, box.x));
      const y0 = Math.floor(Math.max(0, box.y));
      const out = new Float32Array(found.positions.length * 2);
      for (const [i, p] of found.positions.entries()) {
        out[2 * i] = p.x + x0;
        out[2 * i + 1] = p.y + y0;
      }
      return out;
    } finally {
      image.dispose();
    }
  }

  dispose(): void {
    this.pad?.dispose();
  }
}
