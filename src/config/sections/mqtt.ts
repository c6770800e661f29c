/**
 * The `mqtt` section of the config: broker connection, admin authentication, limits, outbox, Home Assistant,
 * fleet sync and the embedded broker. Secrets may come from the environment so the YAML file can stay readable
 * by people who must not hold them (`FACEGATE_MQTT_PASSWORD`, `FACEGATE_ADMIN_SECRET`, `FACEGATE_FLEET_SECRET`).
 * Key layout: commands are verified with `adminPublicKeys` (Ed25519: the kiosk holds no key that can sign one) or
 * `adminSecret` (HMAC: whoever reads it can sign commands); fleet records with `fleet.secret`, which cannot sign
 * commands, so a stolen kiosk cannot unlock the other doors.
 */
import { z } from 'zod';

/** Topic segments must not contain MQTT wildcards or separators. */
const topicSegment = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

const mqttSection = z.object({
  /** Whether the daemon talks MQTT at all. */
  enabled: z.boolean().default(true),
  /** `mqtt://host:1883`, `mqtts://host:8883`, `ws://...`. Absent → the embedded broker (when enabled). */
  url: z.string().url().optional(),
  /** Defaults to the daemon's kiosk id. */
  kioskId: topicSegment.optional(),
  /** Defaults to `facegate/<kioskId>`. */
  baseTopic: z
    .string()
    .regex(/^[^#+]+$/, 'no MQTT wildcards')
    .optional(),
  /** 5 unlocks response topics and correlation data; 4 (3.1.1) for brokers without MQTT 5 (aedes). */
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  username: z.string().optional(),
  /** Prefer `FACEGATE_MQTT_PASSWORD`. */
  password: z.string().optional(),
  tls: z
    .object({
      /** PEM files. */
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  /**
   * Site secret for HMAC-SHA256 command signatures. Anyone who reads it can sign commands (unlock) for every kiosk
   * holding it: prefer `adminPublicKeys` and leave this unset. Prefer `FACEGATE_ADMIN_SECRET` to the file.
   */
  adminSecret: z.string().min(16, 'at least 16 characters').optional(),
  /** Ed25519 admin public keys: PEM (SPKI) or base64 of the 32 raw key bytes. Enough alone: no secret needed. */
  adminPublicKeys: z.array(z.string().min(1)).default([]),
  /** Accepted clock difference between the signer and the kiosk. */
  signatureWindowMs: z.number().int().positive().default(60_000),
  /**
   * Commands signed for every kiosk (`"kiosk": "*"`) are refused unless this is on: such a command can be replayed
   * on every door of the site within the signature window. Every command must name its kiosk either way.
   */
  acceptWildcardKiosk: z.boolean().default(false),
  /**
   * `<base>/badge` exists only when `badge.sources` lists `mqtt`; its reads pass the same normalisation as every
   * reader (`badge.format`).
   */
  badgeInput: z
    .object({
      /**
       * Badges on `<base>/badge` must be signed like a command (`"cmd":"badge"`, bound to this kiosk). Turning this
       * off lets anyone who can publish there present any badge number: only with a broker ACL that limits that
       * topic to the reader's bridge, and never in `badge`-only mode, where a badge alone opens the door.
       */
      requireSigned: z.boolean().default(true),
      /** Log full badge numbers from this topic (default: masked). */
      logFull: z.boolean().default(false),
    })
    .strict()
    .prefault({}),
  limits: z
    .object({
      enrollPayloadBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 * 1024),
      payloadBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024),
      jsonDepth: z.number().int().positive().max(256).default(16),
      /** Object members plus array elements per payload (12 MB of small items held the main thread 2.4 s). */
      jsonItems: z.number().int().positive().default(1024),
      /** One fleet record (an identity with its encodings, encrypted). */
      fleetRecordBytes: z
        .number()
        .int()
        .positive()
        .default(4 * 1024 * 1024),
      /** Error results for refused or malformed commands, per second; the rest are counted, not answered. */
      refusalResultsPerSecond: z.number().int().positive().default(20),
      imagesPerEnroll: z.number().int().positive().default(10),
      /** Decoded pixels per enrollment image (image bombs). */
      imageMaxPixels: z.number().int().positive().default(12_000_000),
      captureSamplesMax: z.number().int().positive().default(20),
      captureTimeoutMsMax: z.number().int().positive().default(60_000),
    })
    .prefault({}),
  outbox: z
    .object({
      /** Undelivered access events and alarms kept; beyond this the oldest are dropped (and the drop is reported). */
      maxEvents: z.number().int().positive().default(10_000),
      /** Undelivered refusal summaries (`admin-rejected`) kept, a separate budget: they never push out access events. */
      maxAuditEvents: z.number().int().positive().default(1_000),
      /** Rewrite the journal once this many delivered entries have accumulated. */
      compactAfter: z.number().int().positive().default(1_000),
      /** QoS 1 publishes awaiting PUBACK at once. */
      inflight: z.number().int().positive().max(1000).default(50),
    })
    .prefault({}),
  homeAssistant: z
    .object({
      enabled: z.boolean().default(false),
      discoveryPrefix: z.string().default('homeassistant'),
      /**
       * HA cannot sign commands, so its lock "unlock" button is disabled unless explicitly allowed; then an
       * unsigned `<base>/ha/lock/set` payload `UNLOCK` pulses the relay (protect that topic with broker ACLs).
       */
      allowRemoteUnlock: z.boolean().default(false),
    })
    .prefault({}),
  fleet: z
    .object({
      enabled: z.boolean().default(false),
      /** Prefix shared by every kiosk of the site. */
      topic: z.string().default('facegate/_fleet'),
      /**
       * The fleet secret: signs and encrypts identity records, never commands. Required with `enabled`; must differ
       * from `adminSecret`. Prefer `FACEGATE_FLEET_SECRET`; `facegate admin keygen --fleet` makes one.
       */
      secret: z.string().min(16, 'at least 16 characters').optional(),
    })
    .prefault({}),
  embeddedBroker: z
    .object({
      /** Start aedes on `host:port` when no `url` is configured. */
      enabled: z.boolean().default(true),
      host: z.string().default('127.0.0.1'),
      /** 0 = any free port; a busy port falls back to a free one (logged). */
      port: z.number().int().min(0).max(65535).default(1883),
      /**
       * When a broker already answers MQTT on host:port (e.g. Mosquitto on 127.0.0.1:1883), use it instead of
       * starting ours on another port; false always starts the embedded one.
       */
      useExisting: z.boolean().default(true),
    })
    .prefault({}),
});

/** Rules across keys: fleet sync needs its own secret, never the admin one. */
export const mqttConfigSchema = mqttSection.superRefine((c, ctx) => {
  if (c.fleet.enabled && !c.fleet.secret)
    ctx.addIssue({
      code: 'custom',
      path: ['fleet', 'secret'],
      message: 'fleet sync needs its own secret (FACEGATE_FLEET_SECRET); the admin secret no longer keys it',
    });
  if (c.fleet.secret && c.fleet.secret === c.adminSecret)
    ctx.addIssue({
      code: 'custom',
      path: ['fleet', 'secret'],
      message: 'must differ from adminSecret (a fleet key must never be able to sign commands)',
    });
});

export type MqttConfig = z.infer<typeof mqttConfigSchema>;
export type MqttConfigInput = z.input<typeof mqttConfigSchema>;

/** Secrets from the environment win over the file, so a file can be shared without them. */
export function applyMqttEnv(
  section: MqttConfigInput | undefined,
  env: NodeJS.ProcessEnv = process.env,
): MqttConfigInput {
  const out: MqttConfigInput = { ...(section ?? {}) };
  if (env.FACEGATE_MQTT_PASSWORD) out.password = env.FACEGATE_MQTT_PASSWORD;
  if (env.FACEGATE_ADMIN_SECRET) out.adminSecret = env.FACEGATE_ADMIN_SECRET;
  if (env.FACEGATE_FLEET_SECRET) out.fleet = { ...(out.fleet ?? {}), secret: env.FACEGATE_FLEET_SECRET };
  if (env.FACEGATE_MQTT_URL && !out.url) out.url = env.FACEGATE_MQTT_URL;
  return out;
}

/** Parses the section (after env overrides); throws the zod error for the composer to report. */
export function parseMqttConfig(section: unknown, env: NodeJS.ProcessEnv = process.env): MqttConfig {
  const base = typeof section === 'object' && section !== null ? (section as MqttConfigInput) : {};
  return mqttConfigSchema.parse(applyMqttEnv(base, env));
}
