/** `recognition`: which models run in the inference worker and how strict matching is. */
import { z } from 'zod';

export const recognitionSection = z
  .strictObject({
    /** tfjs backend: `auto` tries tfjs-node, then wasm (the usual choice on a kiosk), `cpu` is for debugging only. */
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /**
     * `yunet` (default: YuNet with five keypoints, feeds reid-0095), or face-api's `tiny` (TinyFaceDetector) or `ssd`
     * (SSD MobileNet v1) with 68 landmarks, which feed dlib-resnet128 / facenet-nn4small2. With those encoders a
     * configured `yunet` runs as `tiny`; reid-0095 refuses `tiny` and `ssd`.
     */
    detector: z.enum(['yunet', 'tiny', 'ssd']).default('yunet'),
    /**
     * YuNet: the frame's longer side is scaled to this many pixels before detection (camera frames and photos
     * alike). 320 found the face in all 57 shared tight crops without padding; smaller is faster, larger finds
     * smaller faces.
     */
    yunetInputSize: z.number().int().min(64).max(2048).default(320),
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
    /**
     * Encoder id: `reid-0095` (default, 256-d, cosine distance), `dlib-resnet128` or `facenet-nn4small2` (128-d,
     * Euclidean). Every stored encoding records it and encoders are never mixed; a database enrolled with another
     * encoder keeps using that one until its people are re-enrolled (`facegate enroll --replace`).
     */
    encoder: z.string().min(1).default('reid-0095'),
    /**
     * A face matches when its distance is strictly below this, in the encoder's metric: cosine distance `1 - cos`
     * for reid-0095 (default 0.60; 0.55 is the strict option), Euclidean distance for dlib-resnet128 (0.6) and
     * facenet-nn4small2 (0.7). null = the encoder's own default. Calibrate on your own people: `facegate calibrate`.
     */
    threshold: z.number().positive().max(4).nullable().default(null),
    /**
     * Download YuNet / reid-0095 (pinned sha256) when they are missing at start; when that fails or this is false,
     * the face-api pipeline (tiny + dlib-resnet128) runs with a warning naming `facegate models import`.
     */
    fetchModels: z.boolean().default(true),
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
