/**
 * Home Assistant MQTT discovery (after zigbee2mqtt's extension/homeassistant.ts): retained single-component configs
 * under `<prefix>/<component>/<node>/<object>/config` for entities that read facegate's own topics. What is announced
 * follows the hardware and the config:
 * - the lock state comes from the relay (`<base>/lock/state`, `LOCKED`/`UNLOCKED`, retained, published by the
 *   module whether HA is enabled or not), so HA knows it on the default hardware, with no door contact, too;
 * - a `lock` entity, which offers an unlock button, only with `homeAssistant.allowRemoteUnlock`: HA cannot sign
 *   commands, so `<base>/ha/lock/set` is otherwise ignored, and a button that is ignored is a lie. Without it, a
 *   read-only `binary_sensor` of device class `lock`;
 * - the door contact sensor only when `door.contact` is configured (only the contact monitor publishes door/state).
 * An entity not announced gets an empty retained config, which removes it from HA and the broker after a config
 * change. Keys are HA's full option names (no abbreviations); entity ids are suggested with `default_entity_id`
 * (`object_id` is deprecated since HA 2025.10 and stops working in 2026.4).
 * HA's documentation recommends re-sending discovery on its birth message (`<prefix>/status` = `online`) after a
 * random delay; DiscoveryAnnouncer does that, bounded however many birth messages arrive.
 */
import type { Logger } from 'pino';
import type { RelayState } from '../hardware/relay/relay.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import type { Topics } from './topics.ts';

export interface DiscoveryMessage {
  topic: string;
  /** The config JSON, or '' to remove the entity. */
  payload: string;
}

export interface DiscoveryOptions {
  prefix: string;
  kioskId: string;
  topics: Topics;
  allowRemoteUnlock: boolean;
  /** `door.contact` is configured, so `<base>/door/state` is published. */
  doorContact: boolean;
  /** facegate's version, for `origin` and `device`. */
  version: string;
}

export const SUPPORT_URL = 'https://github.com/facegate/facegate';

/** `<base>/lock/state` payloads: HA's lock defaults (`state_locked`, `state_unlocked`). */
export const LOCK_STATE_PAYLOADS: Record<RelayState, string> = { locked: 'LOCKED', unlocked: 'UNLOCKED' };

/** An entity id part as HA accepts it: lowercase letters, digits and single inner underscores. */
function entitySlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

export function discoveryMessages(o: DiscoveryOptions): DiscoveryMessage[] {
  const { topics } = o;
  // Unchanged since the first release: unique ids and config topics of existing installations stay the same.
  const node = `facegate_${o.kioskId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const shared = {
    device: {
      identifiers: [node],
      name: `facegate ${o.kioskId}`,
      manufacturer: 'facegate',
      model: 'door kiosk',
      sw_version: o.version,
    },
    origin: { name: 'facegate', sw_version: o.version, support_url: SUPPORT_URL },
    availability_topic: topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const entities: Array<[component: string, object: string, config: Record<string, unknown> | null]> = [
    [
      'lock',
      'door_lock',
      o.allowRemoteUnlock
        ? {
            name: 'Door lock',
            state_topic: topics.lockState,
            state_locked: LOCK_STATE_PAYLOADS.locked,
            state_unlocked: LOCK_STATE_PAYLOADS.unlocked,
            command_topic: topics.haLockSet,
            payload_unlock: 'UNLOCK',
            // Required by HA's lock; ignored here: the relay re-locks by itself when the pulse ends.
            payload_lock: 'LOCK',
            optimistic: false,
          }
        : null,
    ],
    [
      'binary_sensor',
      'lock_state',
      o.allowRemoteUnlock
        ? null
        : {
            name: 'Door lock',
            // Device class lock: on means unlocked.
            device_class: 'lock',
            state_topic: topics.lockState,
            payload_on: LOCK_STATE_PAYLOADS.unlocked,
            payload_off: LOCK_STATE_PAYLOADS.locked,
          },
    ],
    [
      'binary_sensor',
      'door_contact',
      o.doorContact
        ? {
            name: 'Door contact',
            device_class: 'door',
            state_topic: topics.doorState,
            value_template: "{{ 'ON' if value in ['open', 'held-open', 'forced-open'] else 'OFF' }}",
          }
        : null,
    ],
    [
      'sensor',
      'last_access',
      {
        name: 'Last access',
        icon: 'mdi:account-key',
        state_topic: topics.accessEvent,
        value_template: '{{ value_json.decision }}: {{ value_json.identityName or value_json.reason }}',
        json_attributes_topic: topics.accessEvent,
      },
    ],
    [
      'event',
      'access',
      {
        name: 'Access',
        state_topic: topics.accessEvent,
        event_types: ['granted', 'denied'],
        value_template: '{ "event_type": "{{ value_json.decision }}", "reason": "{{ value_json.reason }}" }',
      },
    ],
    [
      'binary_sensor',
      'alarm',
      {
        name: 'Alarm',
        device_class: 'problem',
        state_topic: topics.alarmEvent,
        value_template: "{{ 'ON' }}",
        off_delay: 60,
        json_attributes_topic: topics.alarmEvent,
      },
    ],
  ];
  return entities.map(([component, object, config]) => ({
    topic: `${o.prefix}/${component}/${node}/${object}/config`,
    payload:
      config === null
        ? ''
        : JSON.stringify({
            ...config,
            unique_id: `${node}_${object}`,
            default_entity_id: `${component}.${entitySlug(`facegate_${o.kioskId}_${object}`)}`,
            ...shared,
          }),
  }));
}

/** Longest random wait before re-sending on a birth message (HA: "adding some random delay ... is recommended"). */
export const REANNOUNCE_MAX_DELAY_MS = 2000;
/** At most one round of discovery per this interval, however many birth messages arrive (a flood costs one timer). */
export const REANNOUNCE_MIN_INTERVAL_MS = 5000;

export interface AnnouncerOptions extends DiscoveryOptions {
  publish(message: DiscoveryMessage): void;
  logger?: Logger;
  clock?: Clock;
  /** [0, 1), for the random delay. */
  random?: () => number;
}

/** Publishes the discovery configs on connect and again when Home Assistant announces itself. */
export class DiscoveryAnnouncer {
  /** HA's birth and last-will topic: subscribe to it. */
  readonly statusTopic: string;
  private readonly messages: DiscoveryMessage[];
  private readonly clock: Clock;
  private timer: unknown = null;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: AnnouncerOptions) {
    this.statusTopic = `${opts.prefix}/status`;
    this.messages = discoveryMessages(opts);
    this.clock = opts.clock ?? systemClock;
  }

  announce(): void {
    this.stop();
    this.lastAt = this.clock.now();
    for (const message of this.messages) this.opts.publish(message);
  }

  /**
   * A message on any topic; acts on a live `online` on the status topic only. A retained one is ignored: it comes
   * with our own (re)subscription, right after announce().
   */
  onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (topic !== this.statusTopic || retained || this.timer !== null) return;
    if (payload.length > 16 || payload.toString('utf8').trim() !== 'online') return;
    const random = this.opts.random ?? Math.random;
    const delay = Math.max(
      random() * REANNOUNCE_MAX_DELAY_MS,
      this.lastAt + REANNOUNCE_MIN_INTERVAL_MS - this.clock.now(),
    );
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.opts.logger?.info({ event: 'mqtt-ha' }, 'Home Assistant came online: discovery re-sent');
      this.announce();
    }, delay);
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
