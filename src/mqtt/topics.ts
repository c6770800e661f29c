/**
 * Every topic facegate uses, built in one place so the README table, the module and the tests agree.
 * Layout after zigbee2mqtt / esp-rfid: `<base>/status`, `<base>/event/...`, `<base>/cmd/<verb>` → `.../result`.
 */

export const COMMAND_VERBS = ['enroll', 'update', 'delete', 'list', 'unlock', 'reload', 'stats'] as const;
export type CommandVerb = (typeof COMMAND_VERBS)[number];

export function isCommandVerb(verb: string): verb is CommandVerb {
  return (COMMAND_VERBS as readonly string[]).includes(verb);
}

export interface Topics {
  base: string;
  status: string;
  doorState: string;
  accessEvent: string;
  alarmEvent: string;
  portraitEvent: string;
  badge: string;
  /** Wildcard subscription for every command. */
  commandFilter: string;
  command(verb: string): string;
  result(verb: string): string;
  /** The verb of a command topic, or null for anything else (including result topics). */
  verbOf(topic: string): string | null;
  haLockSet: string;
}

export function defaultBaseTopic(kioskId: string): string {
  return `facegate/${kioskId}`;
}

export function buildTopics(base: string): Topics {
  const cmdPrefix = `${base}/cmd/`;
  return {
    base,
    status: `${base}/status`,
    doorState: `${base}/door/state`,
    accessEvent: `${base}/event/access`,
    alarmEvent: `${base}/event/alarm`,
    portraitEvent: `${base}/event/portrait`,
    badge: `${base}/badge`,
    commandFilter: `${base}/cmd/+`,
    command: (verb) => `${cmdPrefix}${verb}`,
    result: (verb) => `${cmdPrefix}${verb}/result`,
    verbOf: (topic) => {
      if (!topic.startsWith(cmdPrefix)) return null;
      const verb = topic.slice(cmdPrefix.length);
      return verb.length > 0 && !verb.includes('/') ? verb : null;
    },
    haLockSet: `${base}/ha/lock/set`,
  };
}

export interface FleetTopics {
  identityFilter: string;
  identity(id: string): string;
  idOf(topic: string): string | null;
}

export function buildFleetTopics(prefix: string): FleetTopics {
  const identities = `${prefix}/identities/`;
  return {
    identityFilter: `${identities}+`,
    // Identity ids are free text; encode so `/`, `+`, `#` cannot change the topic's shape.
    identity: (id) => `${identities}${encodeURIComponent(id)}`,
    idOf: (topic) => {
      if (!topic.startsWith(identities)) return null;
      try {
        return decodeURIComponent(topic.slice(identities.length));
      } catch {
        return null;
      }
    },
  };
}
