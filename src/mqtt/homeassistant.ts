/**
 * Home Assistant MQTT discovery (after zigbee2mqtt's extension/homeassistant.ts): retained config messages
 * under `<prefix>/<component>/<node>/<object>/config` describing entities that read facegate's own topics, so
 * no extra state is published for HA.
 * Remote unlock: HA cannot sign commands, so the lock's command topic is `<base>/ha/lock/set` and is ignored
 * (logged) unless `homeAssistant.allowRemoteUnlock` is set — in which case the broker ACL on that topic is the
 * only protection, as the README says.
 */
import type { Topics } from './topics.ts';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

export function discoveryMessages(
  prefix: string,
  kioskId: string,
  topics: Topics,
  allowRemoteUnlock: boolean,
): DiscoveryMessage[] {
  const node = `facegate_${kioskId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const device = { identifiers: [node], name: `facegate ${kioskId}`, manufacturer: 'facegate', model: 'door kiosk' };
  const availability = {
    availability_topic: topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const entity = (component: string, object: string, config: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${prefix}/${component}/${node}/${object}/config`,
    payload: JSON.stringify({
      ...config,
      unique_id: `${node}_${object}`,
      object_id: `${node}_${object}`,
      device,
      ...availability,
    }),
  });
  return [
    entity('lock', 'door_lock', {
      name: 'Door',
      state_topic: topics.doorState,
      value_template: "{{ 'LOCKED' if value == 'locked' else ('JAMMED' if value == 'forced-open' else 'UNLOCKED') }}",
      command_topic: topics.haLockSet,
      payload_unlock: 'UNLOCK',
      payload_lock: 'LOCK',
      payload_open: 'UNLOCK',
      optimistic: false,
      // Shown, but unlocking from HA only works when explicitly allowed.
      icon: allowRemoteUnlock ? 'mdi:lock' : 'mdi:lock-outline',
    }),
    entity('binary_sensor', 'door_contact', {
      name: 'Door contact',
      device_class: 'door',
      state_topic: topics.doorState,
      value_template: "{{ 'ON' if value in ['open', 'held-open', 'forced-open'] else 'OFF' }}",
    }),
    entity('sensor', 'last_access', {
      name: 'Last access',
      icon: 'mdi:account-key',
      state_topic: topics.accessEvent,
      value_template: '{{ value_json.decision }}: {{ value_json.identityName or value_json.reason }}',
      json_attributes_topic: topics.accessEvent,
    }),
    entity('event', 'access', {
      name: 'Access',
      state_topic: topics.accessEvent,
      event_types: ['granted', 'denied'],
      value_template: '{ "event_type": "{{ value_json.decision }}", "reason": "{{ value_json.reason }}" }',
    }),
    entity('binary_sensor', 'alarm', {
      name: 'Alarm',
      device_class: 'problem',
      state_topic: topics.alarmEvent,
      value_template: "{{ 'ON' }}",
      off_delay: 60,
      json_attributes_topic: topics.alarmEvent,
    }),
  ];
}
