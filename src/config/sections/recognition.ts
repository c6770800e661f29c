/** `recognition`: which models run in the inference worker and how strict matching is. */
import { z } from 'zod';

export const recognitionSection = z
  .strictObject({
    /** tfjs backend: `auto` tries tfjs-node, then wasm (the usual choice on a kiosk), `cpu` is for debugging only. */
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /** `tiny` (TinyFaceDetector, fast) or `ssd` (SSD MobileNet v1, slower, finds smaller and turned faces). */
    detector: z.enum(['tiny', 'ssd']).default('tiny'),
    /** TinyFaceDetector input side (multiple of 32): smaller is faster, larger finds smaller faces. */
    tinyInputSize: z
      .number()
      .int()
      .min(128)
      .max(1024)
      .refine((n) => n % 32 === 0, 'must be a multiple of 32')
      .default(416),
    /**
     * TinyFaceDetector input side for live camera frames in the daemon (photos, the CLI and enrollment keep
     * `tinyInputSize`). A person at a kiosk fills a large part of the frame, and the detector finds large faces
     * better at a small input (bbt faces 160-240 px wide in 640x480 frames: 40/40 found at 224, 35/40 at 416);
     * it also keeps the inference worker's wasm heap, which never shrinks, near 120 MB instead of 207 MB.
     */
    liveTinyInputSize: z
      .number()
      .int()
      .min(128)
      .max(1024)
      .refine((n) => n % 32 === 0, 'must be a multiple of 32')
      .default(224),
    /** Encoder id (`facegate models list`); every stored encoding records it and encoders are never mixed. */
    encoder: z.string().min(1).default('dlib-resnet128'),
    /** Euclidean distance under which a face matches; null = the encoder's own default (0.6 for dlib-resnet128). */
    threshold: z.number().positive().max(4).nullable().default(null),
    /** Detections scoring below this are ignored (0..1). */
    minScore: z.number().min(0).max(1).default(0.5),
    /** Enrollment quality gate: smallest accepted face box side in pixels (TinyFaceDetector boxes are tight). */
    minFaceSize: z.number().int().positive().default(32),
    /** Where imported weights live; null = FACEGATE_MODELS_DIR or ./models. */
    modelsDir: z.string().min(1).nullable().default(null),
    /** Enrollment images larger than this many pixels are refused (decompression bombs). */
    maxImagePixels: z.number().int().positive().default(40_000_000),
  })
  .prefault({});

export type RecognitionConfig = z.infer<typeof recognitionSection>;
