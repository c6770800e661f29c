/**
 * The scorer behind `facegate pad` and `calibratePad`: YuNet's largest face in the WHOLE image, then the fused
 * MiniFASNet P(real) on the crop rule of recognition/liveness/minifasnet.ts (the face box scaled 2.7x / 4.0x
 * about its centre, so the networks see the surroundings: a paper or screen edge, moiré). Tight face crops have
 * no surroundings and are out of the networks' domain: there is no `--no-detect` here on purpose.
 * Models come from the models directory (`facegate models fetch|import yunet` and `... minifasnet`).
 */
import { verifiedModelFiles } from '../models/pinned-kind.ts';
import { largestFace, type YunetDetector } from '../recognition/detect/yunet.ts';
import {
  MINIFASNET_V1SE_FILE,
  MINIFASNET_V2_FILE,
  minifasnetSpec,
  YUNET_FILE,
  yunetSpec,
} from '../recognition/graph-model-kinds.ts';
import type { MiniFasNet } from '../recognition/liveness/minifasnet.ts';
import type { RgbImage } from '../runtime/image.ts';

export interface PadImageScore {
  face: boolean;
  /** Fused P(real), or null without a face. */
  score: number | null;
}

export class PadScorer {
  private constructor(
    private readonly detector: YunetDetector,
    private readonly pad: MiniFasNet,
  ) {}

  /** Checks both models' sha256 (one line on how to get a missing one), then loads them on the wasm backend. */
  static async open(modelsDir: string): Promise<PadScorer> {
    const yunetFiles = await verifiedModelFiles(modelsDir, yunetSpec);
    const padFiles = await verifiedModelFiles(modelsDir, minifasnetSpec);
    const [{ initBackend }, { YunetDetector }, { MiniFasNet }] = await Promise.all([
      import('../runtime/tf.ts'),
      import('../recognition/detect/yunet.ts'),
      import('../recognition/liveness/minifasnet.ts'),
    ]);
    await initBackend('wasm');
    const detector = await YunetDetector.load(yunetFiles[YUNET_FILE]!);
    try {
      return new PadScorer(
        detector,
        await MiniFasNet.load(padFiles[MINIFASNET_V2_FILE]!, padFiles[MINIFASNET_V1SE_FILE]!),
      );
    } catch (err) {
      detector.dispose();
      throw err;
    }
  }

  async score(image: RgbImage): Promise<PadImageScore> {
    const face = largestFace(await this.detector.detect(image));
    if (!face) return { face: false, score: null };
    return { face: true, score: (await this.pad.score(image, face.box)).score };
  }

  dispose(): void {
    this.detector.dispose();
    this.pad.dispose();
  }
}
