/** One captured camera frame, timestamped at capture so latency is measured from the moment light hit the sensor. */
import type { RgbImage } from '../../runtime/image.ts';

export interface Frame {
  image: RgbImage;
  /** Epoch milliseconds when the frame was captured (read off the pipe / shot taken). */
  capturedAt: number;
  /** Increasing per camera session; gaps mean frames were dropped. */
  seq: number;
}
