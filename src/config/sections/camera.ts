/** `camera`: where frames come from and at what size and rate. */
import { z } from 'zod';

const CAMERA_SPEC = /^(v4l2|webcam|video|dir):.+$/;

export const cameraSection = z
  .strictObject({
    /** `v4l2:/dev/videoN` (ffmpeg stream), `webcam:<device>` (fswebcam stills), `video:<file>`, `dir:<folder>`. */
    source: z
      .string()
      .regex(CAMERA_SPEC, 'expected v4l2:/dev/videoN, webcam:<device>, video:<file> or dir:<folder>')
      .default('v4l2:/dev/video0'),
    width: z.number().int().min(64).max(4096).default(640),
    height: z.number().int().min(64).max(4096).default(480),
    /** Capture rate; the worker analyses what it can and drops the rest (latest wins). */
    fps: z.number().positive().max(60).default(10),
    /** `video`/`dir` sources start over at the end. */
    loop: z.boolean().default(true),
    /** `webcam` source: time between still shots. */
    intervalMs: z.number().int().min(50).default(1000),
  })
  .prefault({});

export type CameraConfig = z.infer<typeof cameraSection>;
