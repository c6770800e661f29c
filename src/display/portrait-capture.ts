/**
 * Portrait capture, the frame-path consumer of the portraits feature: while a claim is being verified (`flowState`
 * VERIFYING on the bus) it asks for the pixels of each analysed frame and keeps the last one with a face — the
 * frame that decided. When the `access` event that follows is a face match of someone with `portraitConsent: true`,
 * the face crop goes to the portrait queue as `portraitCandidate` (in memory only). Nobody else's face is kept: the
 * frame is forgotten at every decision and whenever the flow returns to IDLE.
 */
import type { EventBus, FlowState } from '../bus/event-bus.ts';
import type { FrameAnalysis, FrameConsumer } from '../bus/module.ts';
import type { Frame } from '../hardware/camera/frame.ts';
import type { FaceBox } from '../recognition/pipeline.ts';
import type { FaceDb } from '../store/face-db.ts';
import { cropFace } from './card.ts';

export class PortraitCapture implements FrameConsumer {
  readonly name = 'portrait-capture';
  // Before the door flow: the deciding frame must be kept before the decision's `access` event goes out.
  readonly phase = 'observe';
  private flowState: FlowState = 'IDLE';
  private verified: { image: Frame['image']; box: FaceBox } | null = null;
  private offs: Array<() => void> = [];

  constructor(
    private readonly bus: EventBus,
    private readonly db: FaceDb,
  ) {}

  start(): void {
    this.offs = [
      this.bus.on(
        'flowState',
        ({ state }) => {
          this.flowState = state;
          if (state === 'IDLE') this.verified = null;
        },
        'portrait-capture',
      ),
      this.bus.on('access', (e) => this.offer(e.decision, e.reason, e.identityId), 'portrait-capture'),
    ];
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.verified = null;
  }

  wantsPixels(): boolean {
    return this.flowState === 'VERIFYING';
  }

  onAnalysis(analysis: FrameAnalysis, frame: Frame | null): void {
    const face = analysis.faces[0];
    if (frame && face) this.verified = { image: frame.image, box: face.box };
  }

  private offer(decision: string, reason: string, identityId: string | null): void {
    const verified = this.verified;
    this.verified = null;
    if (decision !== 'granted' || reason !== 'match' || !identityId || !verified) return;
    const identity = this.db.get(identityId);
    if (identity?.portraitConsent !== true) return;
    this.bus.emit('portraitCandidate', {
      identityId,
      name: identity.name,
      faceCrop: cropFace(verified.image, verified.box),
      time: Date.now(),
    });
  }
}
