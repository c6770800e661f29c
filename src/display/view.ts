/**
 * What the kiosk screen shows, derived from bus events on the server so the page stays a dumb renderer and the
 * rules (what may be shown to whoever stands at the door) live in one testable place.
 *
 * Privacy: the view holds a name only on a grant (the person who just got in), a neutral sentence on a denial
 * (never the distance, never whose badge or face it was), and portrait references of consenting people.
 */
import type { AccessMode, ChallengeView, DoorState, FlowStateEvent } from '../bus/event-bus.ts';
import type { CameraState } from '../hardware/camera/camera.ts';

export type Screen = 'idle' | 'badge' | 'look' | 'challenge' | 'checking' | 'granted' | 'denied' | 'lockout';

export interface Banner {
  kind: 'camera' | 'broker' | 'door';
  text: string;
}

export interface PortraitRef {
  id: string;
  name: string;
  style: string;
  createdAt: string;
  url: string;
}

export interface PortraitProgress {
  style: string;
  /** 0..100, or null while the job has not reported yet (fast styles report nothing useful). */
  percent: number | null;
}

export interface DisplayView {
  screen: Screen;
  siteName: string;
  mode: AccessMode;
  /** `look`: when the badge window closes (epoch ms); the page counts down from it. */
  deadline: number | null;
  /** `granted` only. */
  name: string | null;
  /** `denied` / `lockout`: a neutral sentence. */
  message: string | null;
  /** `challenge`: the step asked for (arrow/eye icon + words) and the progress bar. */
  challenge: ChallengeView | null;
  banners: Banner[];
  portraits: PortraitRef[];
  portraitProgress: PortraitProgress | null;
  slideSeconds: number;
  preview: boolean;
  /** Lets the page correct for a clock difference when counting down. */
  serverNow: number;
  /** Changes when the page files change: the page reloads itself after a daemon upgrade. */
  pageVersion: string;
}

/**
 * Every denial reads the same, whatever its reason: a screen that said "Badge not recognised" for an unknown badge
 * and "Look at the camera" for a known one told an intruder which numbers exist. The flow sends only `denied` or
 * `locked-out` (see FlowStateEvent); the true reason goes to the access event, never to the door.
 */
export const DENIAL_TEXT = 'Not verified — try again or ask at reception';
export const LOCKOUT_TEXT = 'Too many attempts — please ask at reception';
/** A verified person outside their access schedule (issue 14): told apart, the face already matched. */
export const OUTSIDE_SCHEDULE_TEXT = 'Access is not allowed at this time';
/** An anti-spoofing refusal: never which cue failed (that would coach the next attempt). */
export const LIVENESS_TEXT = 'Liveness check failed — please try again';

export interface ViewOptions {
  siteName: string;
  slideSeconds: number;
  preview: boolean;
  pageVersion: string;
  now?: () => number;
}

export class DisplayState {
  private screen: Screen = 'idle';
  private mode: AccessMode = 'badge+face';
  private deadline: number | null = null;
  private name: string | null = null;
  private message: string | null = null;
  private challenge: ChallengeView | null = null;
  private camera: CameraState | null = null;
  private cameraDetail = '';
  private brokerConnected: boolean | null = null;
  private door: DoorState | null = null;
  private portraits: PortraitRef[] = [];
  private progress: PortraitProgress | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly opts: ViewOptions) {
    this.now = opts.now ?? Date.now;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  applyFlowState(event: FlowStateEvent): void {
    this.mode = event.mode;
    switch (event.state) {
      case 'IDLE':
        this.show('idle');
        break;
      case 'FACE_PRESENT':
        // badge+face: a face with no badge yet → ask for the badge. face mode: too small/far to judge yet.
        this.show(event.mode === 'face' ? 'look' : 'badge');
        break;
      case 'VERIFYING':
        if (event.challenge) this.show('challenge', { deadline: event.challenge.deadline, challenge: event.challenge });
        else this.show(event.deadline === undefined ? 'checking' : 'look', { deadline: event.deadline ?? null });
        break;
      case 'GRANTED':
        // A remote unlock has no name: the door just opens.
        this.show('granted', { name: event.name ?? null });
        break;
      case 'DENIED':
        // Alarms do not reach the screen: a per-kiosk rate alarm shown here would date the unknown-badge count.
        if (event.reason === 'locked-out') this.show('lockout', { message: LOCKOUT_TEXT });
        else if (event.reason === 'outside-schedule') this.show('denied', { message: OUTSIDE_SCHEDULE_TEXT });
        else if (event.reason === 'liveness') this.show('denied', { message: LIVENESS_TEXT });
        else this.show('denied', { message: DENIAL_TEXT });
        break;
      case 'COOLDOWN':
        // Keep the decision on screen until the flow returns to IDLE / FACE_PRESENT.
        break;
    }
  }

  setCamera(state: CameraState, detail?: string): void {
    this.camera = state;
    this.cameraDetail = detail ?? '';
    this.changed();
  }

  setBroker(connected: boolean): void {
    this.brokerConnected = connected;
    this.changed();
  }

  setDoor(state: DoorState): void {
    this.door = state;
    this.changed();
  }

  setPortraits(portraits: PortraitRef[]): void {
    this.portraits = portraits;
    this.changed();
  }

  setProgress(progress: PortraitProgress | null): void {
    this.progress = progress;
    this.changed();
  }

  private show(
    screen: Screen,
    fields: { deadline?: number | null; name?: string | null; message?: string | null; challenge?: ChallengeView } = {},
  ) {
    this.challenge = fields.challenge ?? null;
    this.screen = screen;
    this.deadline = fields.deadline ?? null;
    this.name = fields.name ?? null;
    this.message = fields.message ?? null;
    this.changed();
  }

  banners(): Banner[] {
    const banners: Banner[] = [];
    if (this.camera === 'no-camera') banners.push({ kind: 'camera', text: 'Camera unavailable — face check paused' });
    else if (this.camera === 'reconnecting') banners.push({ kind: 'camera', text: 'Camera lost — reconnecting…' });
    if (this.brokerConnected === false)
      banners.push({ kind: 'broker', text: 'Network link down — the door still works' });
    if (this.door === 'held-open') banners.push({ kind: 'door', text: 'Please close the door' });
    else if (this.door === 'forced-open') banners.push({ kind: 'door', text: 'Door alarm — security notified' });
    return banners;
  }

  /** For logs and tests: never shown to the page as such. */
  get cameraDescription(): string {
    return this.camera === null ? 'unknown' : `${this.camera}${this.cameraDetail ? ` (${this.cameraDetail})` : ''}`;
  }

  snapshot(): DisplayView {
    return {
      screen: this.screen,
      siteName: this.opts.siteName,
      mode: this.mode,
      deadline: this.deadline,
      name: this.name,
      message: this.message,
      challenge: this.challenge,
      banners: this.banners(),
      portraits: this.portraits,
      portraitProgress: this.progress,
      slideSeconds: this.opts.slideSeconds,
      preview: this.opts.preview,
      serverNow: this.now(),
      pageVersion: this.opts.pageVersion,
    };
  }
}
