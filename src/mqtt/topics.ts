/**
 * Every topic facegate uses, built in one place so the README table, the module and the tests agree.
 * Layout after zigbee2mqtt / esp-rfid: `<base>/status`, `<base>/event/...`, `<base>/cmd/<verb>` → `.../result`.
 */

/** Access-rule verbs (issue 14): `<base>/cmd/schedule/add` and so on, one topic level deeper than the others. */
export const RULE_VERBS = [
  'schedule/add',
  'schedule/remove',
  'holiday/add',
  'holiday/remove',
  'group/add',
  'group/remove',
  'group/members',
] as const;
export type RuleVerb = (typeof RULE_VERBS)[number];
const RULE_VERB_GROUPS = ['schedule', 'holiday', 'group'] as const;

export function isRuleVerb(verb: string): verb is RuleVerb {
  return (RULE_VERBS as readonly string[]).includes(verb);
}

export const COMMAND_VERBS = [
  'enroll',
  'update',
  'delete',
  'list',
  'unlock',
  'reload',
  'stats',
  ...RULE_VERBS,
] as const;
export type CommandVerb = (typeof COMMAND_VERBS)[number];

export function isCommandVerb(verb: string): verb is CommandVerb {
  return (COMMAND_VERBS as readonly string[]).includes(verb);
}

export interface Topics {
  base: string;
  status: string;
  doorState: string;
  /** The relay: `LOCKED` | `UNLOCKED`, retained (the door contact's view is `doorState`). */
  lockState: string;
  accessEvent: string;
  alarmEvent: string;
  portraitEvent: string;
  badge: string;
  /** Wildcard subscription for every command. */
  commandFilter: string;
  /** `<base>/cmd/schedule/+`, `.../holiday/+`, `.../group/+` (a `+` never matches the deeper `/result` topics). */
  ruleCommandFilters: string[];
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
    lockState: `${base}/lock/state`,
    accessEvent: `${base}/event/access`,
    alarmEvent: `${base}/event/alarm`,
    portraitEvent: `${base}/event/portrait`,
    badge: `${base}/badge`,
    commandFilter: `${base}/cmd/+`,
    ruleCommandFilters: RULE_VERB_GROUPS.map((g) => `${cmdPrefix}${g}/+`),
    command: (verb) => `${cmdPrefix}${verb}`,
    result: (verb) => `${cmdPrefix}${verb}/result`,
    verbOf: (topic) => {
      if (!topic.startsWith(cmdPrefix)) return null;
      const verb = topic.slice(cmdPrefix.length);
      if (isRuleVerb(verb)) return verb;
      return verb.length > 0 && !verb.includes('/') ? verb : null;
    },
    haLockSet: `${base}/ha/lock/set`,
  };
}

export interface FleetTopics {
  /** Identity records and tombstones, one retained message per id: `<prefix>/identities/<level>`. */
  identityFilter: string;
  /** A second retained copy of every tombstone, `<prefix>/tombstones/<level>`, subscribed (and honoured) first. */
  tombstoneFilter: string;
  /**
   * The one topic level of an id: its percent-encoding (`encodeURIComponent`, so `/`, `+`, `#` cannot change the
   * topic's shape). Null for an id that has none (lone UTF-16 surrogates). Levels are compared raw, never decoded:
   * `ki%61n` is not the level of `kian`.
   */
  level(id: string): string | null;
  identity(level: string): string;
  tombstone(level: string): string;
  /** This kiosk's own topic for the markers that tell it a subscription's retained messages have all arrived. */
  sync(kioskId: string): string;
  /** Which fleet topic this is, with its raw level; null for any other topic (including deeper ones). */
  parse(topic: string): { kind: 'identities' | 'tombstones'; level: string } | { kind: 'sync' } | null;
}

export function buildFleetTopics(prefix: string): FleetTopics {
  const identities = `${prefix}/identities/`;
  const tombstones = `${prefix}/tombstones/`;
  const sync = `${prefix}/sync/`;
  const levelAfter = (topic: string, start: string) => {
    const level = topic.slice(start.length);
    return level.length > 0 && !level.includes('/') ? level : null;
  };
  return {
    identityFilter: `${identities}+`,
    tombstoneFilter: `${tombstones}+`,
    level: (id) => {
      try {
        return encodeURIComponent(id);
      } catch {
        return null;
      }
    },
    identity: (level) => `${identities}${level}`,
    tombstone: (level) => `${tombstones}${level}`,
    sync: (kioskId) => `${sync}${kioskId}`,
    parse: (topic) => {
      for (const [kind, start] of [
        ['identities', identities],
        ['tombstones', tombstones],
      ] as const) {
        if (!topic.startsWith(start)) continue;
        const level = levelAfter(topic, start);
        return level === null ? null : { kind, level };
      }
      return topic.startsWith(sync) ? { kind: 'sync' } : null;
    },
  };
}
