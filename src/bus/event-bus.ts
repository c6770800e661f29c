/**
 * The daemon's typed event bus (after zigbee2mqtt's eventBus.ts): modules publish facts and subscribe to what they
 * need, so the door flow, MQTT, metrics and the display plug together without knowing each other.
 * Privacy rule for every payload: no face vector, no image, no full badge number (use `maskBadge`).
 */
import { randomUUID } from 'node:crypto';
import type { CameraState } from '../hardware/camera/camera.ts';
import type { RgbImage } from '../runtime/image.ts';

export type AccessMode = 'badge+face' | 'face' | 'badge';
export type Decision = 'granted' | 'denied';
export type DoorState = 'locked' | 'unlocked' | 'open' | 'held-open' | 'forced-open';
export type FlowState = 'IDLE' | 'FACE_PRESENT' | 'VERIFYING' | 'GRANTED' | 'DENIED' | 'COOLDOWN';

export interface AccessEvent {
  eventId: string;
  /** ISO 8601 time of the decision. */
  time: string;
  mode: AccessMode;
  /** Masked badge (e.g. `****1234`), or the full one only when configured. */
  badge: string | null;
  identityId: string | null;
  identityName: string | null;
  decision: Decision;
  /**
   * Machine-readable reason: `match`, `badge`, `remote-unlock` (grants); `no-match`, `ambiguous`, `unknown-badge`,
   * `disabled`, `expired`, `not-yet-valid`, `not-enrolled`, `locked-out`, `rate-limited`, `timeout`, `abandoned` (a
   * claim ended by a new badge, a remote unlock, a stop, or the face leaving in face mode); after a match, the
   * access rules' `outside-schedule`, `not-at-this-kiosk`, `unknown-group`, `unknown-schedule`, `no-group`,
   * `rule-error` (src/access/rules.ts); `spoof-suspected` (passive anti-spoofing), `liveness-failed` (the active
   * challenge), `anti-spoofing-unavailable` (no PAD model).
   */
  reason: string;
  distance: number | null;
  threshold: number | null;
  /** Frame capture → decision, in milliseconds (null when no frame was involved). */
  latencyMs: number | null;
}

export type AlarmKind =
  | 'door-held-open'
  | 'door-forced-open'
  | 'lockout'
  | 'camera-lost'
  | 'relay-error'
  | 'worker-crash'
  | 'admin-rejected'
  | 'anti-spoofing-unavailable';

export interface AlarmEvent {
  eventId: string;
  time: string;
  kind: AlarmKind;
  /** Neutral text for humans; never a vector, image or full badge. */
  detail: string;
  badge?: string | null;
}

export interface FlowStateEvent {
  state: FlowState;
  mode: AccessMode;
  /** While waiting for a face after a badge: when the window closes (epoch ms). */
  deadline?: number;
  /** On GRANTED: the display name to welcome. */
  name?: string;
  /**
   * On DENIED: what the screen may know — `locked-out` (this badge or face is, or just got, locked out),
   * `outside-schedule` (a verified person outside their access schedule), `liveness` (an anti-spoofing refusal:
   * "please try again", never which cue failed) or `denied` (every other reason: the true one is in the access event
   * only, so the screen is no oracle).
   */
  reason?: string;
  /** On VERIFYING in active anti-spoofing: the challenge step to show and the progress bar. */
  challenge?: ChallengeView;
}

/** What the screen shows of an active liveness challenge: the step asked for (null: hold still), and progress. */
export interface ChallengeView {
  step: 'turn-left' | 'turn-right' | 'blink' | null;
  stepIndex: number;
  stepCount: number;
  /** 0..1 over the whole challenge. */
  fraction: number;
  deadline: number;
}

export interface EventMap {
  access: [AccessEvent];
  alarm: [AlarmEvent];
  doorState: [{ state: DoorState; time: string }];
  relay: [{ state: 'locked' | 'unlocked'; time: string }];
  flowState: [FlowStateEvent];
  cameraState: [{ state: CameraState; detail?: string }];
  /** A badge read from any source (stdin, evdev, MQTT). `badge` is the full normalised number: never log it. */
  badgeRead: [{ badge: string; source: string }];
  /** A face was seen (or lost) in front of the camera; drives idle detection and portrait preemption. */
  facePresence: [{ present: boolean; time: number }];
  /** A request to pulse the door relay that did not come from the face flow (signed MQTT command, exit button). */
  unlockRequest: [{ by: string; reason: string }];
  /** The identity set changed (enroll, update, delete, fleet sync). */
  identitiesChanged: [{ id: string; change: 'enrolled' | 'updated' | 'deleted' }];
  brokerState: [{ connected: boolean }];
  /**
   * Scheduled unlock (issue 14): the relay is held unlocked while `active` (the door lock follows; the door monitor
   * suppresses its held-open and forced alarms only inside the hold). `reason`: why it started or ended.
   */
  doorHold: [{ active: boolean; schedule: string | null; reason: string; time: string }];
  /** An admin command ran (signed MQTT): for the access log. `by` names the signer, never a secret. */
  adminAction: [{ action: string; by: string; ok: boolean; identityId: string | null; detail: string }];
  /**
   * A granted visitor who consented to a welcome portrait (`portraitConsent: true`), with the face crop of the
   * deciding frame. The one event that holds an image, and only of a consenting person: it is for the display's
   * portrait renderer, in memory only — never forward, log or store it.
   */
  portraitCandidate: [{ identityId: string; name: string; faceCrop: RgbImage; time: number }];
  /** A fused anti-spoofing score (MiniFASNet P(real), 0..1) a claim sampled: a number only, for the metrics. */
  padScore: [{ score: number }];
  /** A welcome portrait was added to the slideshow: a reference (no image), e.g. for an `event/portrait` message. */
  portrait: [{ id: string; identityId: string; name: string; style: string; time: string }];
  /** A welcome-portrait style-transfer job ended (for metrics): how, with which method, after how long. */
  portraitJob: [{ result: PortraitJobResult; method: string; seconds: number }];
  /** Events waiting in the MQTT outbox for the broker, after each change (for metrics). */
  outboxDepth: [{ depth: number }];
}

export type PortraitJobResult = 'done' | 'cancelled' | 'failed';

/** Where the bus reports a listener that threw; the daemon passes its pino logger. */
export interface BusLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

const stderrLogger: BusLogger = {
  warn: (fields, msg) => process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`),
  error: (fields, msg) => process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`),
};

type AnyListener = (...args: never[]) => unknown;
interface Subscription {
  listener: AnyListener;
  owner: string;
}

/**
 * Listeners are isolated: one that throws (or rejects) is logged with its owner's name and the others still run,
 * so a failing feature can never skip the door's work or crash the daemon (a throwing `access` listener once did both).
 */
export class EventBus {
  private readonly subscriptions = new Map<keyof EventMap, Subscription[]>();
  private readonly logger: BusLogger;

  constructor(logger: BusLogger = stderrLogger) {
    this.logger = logger;
  }

  emit<K extends keyof EventMap>(event: K, ...args: EventMap[K]): void {
    const list = this.subscriptions.get(event);
    if (!list) return;
    // A copy: a listener may subscribe or unsubscribe while we iterate.
    for (const { listener, owner } of [...list]) {
      try {
        const result = (listener as (...a: EventMap[K]) => unknown)(...args);
        if (result instanceof Promise) result.catch((err: unknown) => this.listenerFailed(event, owner, err));
      } catch (err) {
        this.listenerFailed(event, owner, err);
      }
    }
  }

  /** Subscribes; `owner` names the subscriber in the log line if it ever throws. Returns the unsubscriber. */
  on<K extends keyof EventMap>(event: K, listener: (...args: EventMap[K]) => unknown, owner = 'anonymous'): () => void {
    const subscription: Subscription = { listener: listener as AnyListener, owner };
    const list = this.subscriptions.get(event) ?? [];
    list.push(subscription);
    this.subscriptions.set(event, list);
    return () => {
      const current = this.subscriptions.get(event);
      const at = current?.indexOf(subscription) ?? -1;
      if (current && at >= 0) current.splice(at, 1);
    };
  }

  /** Raises an alarm: one log line and one `alarm` event, built the same way wherever it comes from. */
  alarm(kind: AlarmKind, detail: string, opts: { badge?: string | null; time?: number } = {}): AlarmEvent {
    const event: AlarmEvent = {
      eventId: randomUUID(),
      time: new Date(opts.time ?? Date.now()).toISOString(),
      kind,
      detail,
      ...(opts.badge === undefined ? {} : { badge: opts.badge }),
    };
    this.logger.warn({ event: 'alarm', kind, ...(opts.badge ? { badge: opts.badge } : {}) }, detail);
    this.emit('alarm', event);
    return event;
  }

  listenerCount<K extends keyof EventMap>(event: K): number {
    return this.subscriptions.get(event)?.length ?? 0;
  }

  removeAllListeners(): void {
    this.subscriptions.clear();
  }

  private listenerFailed(event: string, owner: string, err: unknown): void {
    const error = err instanceof Error ? err.message : String(err);
    this.logger.error({ event: 'listener-error', on: event, owner, error }, `${owner} failed handling ${event}`);
  }
}

export { maskBadge } from '../util/badge-mask.ts';
