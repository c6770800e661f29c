/**
 * The daemon's typed event bus (after zigbee2mqtt's eventBus.ts): modules publish facts and subscribe to what they
 * need, so the door flow, MQTT, metrics and the display plug together without knowing each other.
 * Privacy rule for every payload: no face vector, no image, no full badge number (use `maskBadge`).
 */
import { EventEmitter } from 'node:events';
import type { RgbImage } from '../runtime/image.ts';

export type AccessMode = 'badge+face' | 'face' | 'badge';
export type Decision = 'granted' | 'denied';
export type DoorState = 'locked' | 'unlocked' | 'open' | 'held-open' | 'forced-open';
export type FlowState = 'IDLE' | 'FACE_PRESENT' | 'VERIFYING' | 'GRANTED' | 'DENIED' | 'COOLDOWN';
export type CameraState = 'starting' | 'streaming' | 'reconnecting' | 'no-camera';

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
  /** Machine-readable reason: `match`, `no-match`, `unknown-badge`, `disabled`, `expired`, `not-yet-valid`, `locked-out`, `timeout`, `remote-unlock`, ... */
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
  | 'admin-rejected';

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
  /** On DENIED / lockout: a neutral reason. */
  reason?: string;
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
   * A granted visitor who consented to a welcome portrait (`portraitConsent: true`), with the face crop of the
   * deciding frame. The one event that holds an image, and only of a consenting person: it is for the display's
   * portrait renderer, in memory only — never forward, log or store it.
   */
  portraitCandidate: [{ identityId: string; name: string; faceCrop: RgbImage; time: number }];
  /** A welcome portrait was added to the slideshow: a reference (no image), e.g. for an `event/portrait` message. */
  portrait: [{ id: string; identityId: string; name: string; style: string; time: string }];
}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many modules subscribe to the same events; this is not a leak.
    this.emitter.setMaxListeners(100);
  }

  emit<K extends keyof EventMap>(event: K, ...args: EventMap[K]): void {
    this.emitter.emit(event, ...args);
  }

  on<K extends keyof EventMap>(event: K, listener: (...args: EventMap[K]) => void): () => void {
    this.emitter.on(event, listener as (...a: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...a: unknown[]) => void);
  }

  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}

/** Keeps the last four characters so a guard can tell badges apart without the log holding the number. */
export function maskBadge(badge: string, keep = 4): string {
  if (badge.length <= keep) return '*'.repeat(badge.length);
  return `${'*'.repeat(Math.min(4, badge.length - keep))}${badge.slice(-keep)}`;
}
