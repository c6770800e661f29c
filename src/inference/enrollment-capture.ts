/**
 * Enrollment by capture (a signed MQTT `enroll` with `capture`): a frame-path consumer that collects the next frames
 * showing exactly one big-enough face. It asks for pixels only while a request waits, so no frame is copied otherwise.
 */
import type { FrameAnalysis, FrameConsumer } from '../bus/module.ts';
import type { Frame } from '../hardware/camera/frame.ts';

interface CaptureRequest {
  samples: number;
  frames: Frame[];
  done: () => void;
}

export class EnrollmentCapture implements FrameConsumer {
  readonly name = 'enrollment-capture';
  readonly phase = 'observe';
  private readonly requests = new Set<CaptureRequest>();
  private readonly minFaceSize: number;

  constructor(minFaceSize: number) {
    this.minFaceSize = minFaceSize;
  }

  wantsPixels(): boolean {
    return this.requests.size > 0;
  }

  onAnalysis(analysis: FrameAnalysis, frame: Frame | null): void {
    if (!frame || analysis.faces.length !== 1) return;
    const face = analysis.faces[0];
    if (!face || Math.min(face.box.width, face.box.height) < this.minFaceSize) return;
    for (const request of this.requests) {
      request.frames.push(frame);
      if (request.frames.length >= request.samples) request.done();
    }
  }

  /** Collects the next `samples` good frames; resolves with what it has at the timeout, an abort or a stop. */
  capture(samples: number, timeoutMs: number, signal?: AbortSignal): Promise<Frame[]> {
    return new Promise((resolve) => {
      const request: CaptureRequest = { samples, frames: [], done: () => {} };
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.requests.delete(request);
        resolve(request.frames);
      };
      request.done = finish;
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish);
      this.requests.add(request);
    });
  }

  /** Ends every waiting request with the frames it has. */
  stop(): void {
    for (const request of [...this.requests]) request.done();
  }
}
