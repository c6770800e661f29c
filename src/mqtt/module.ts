/**
 * The MQTT feature module: the transport (client.ts: connect, TLS, Last Will, embedded broker, routing) plus one
 * handler per topic family, listed here. Adding a family: a file in handlers/ returning an MqttHandler, one line in
 * the list. Handlers start in list order and stop in reverse; events out is last, so what the others do while
 * stopping still reaches the journal.
 */
import type { DaemonContext, DaemonModule, Feature } from '../bus/module.ts';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import type { BadgeFormat } from '../hardware/badge/normalise.ts';
import type { CommandVerifier } from './auth.ts';
import { MqttTransport } from './client.ts';
import { badgeInputHandler } from './handlers/badge-input.ts';
import { commandHandler } from './handlers/commands.ts';
import { eventsOut } from './handlers/events.ts';
import { fleetHandler } from './handlers/fleet.ts';
import type { HandlerDeps, MqttHandler } from './handlers/handler.ts';
import { homeAssistantHandler } from './handlers/homeassistant.ts';
import { createInbound } from './inbound.ts';
import { buildTopics, defaultBaseTopic, type Topics } from './topics.ts';
import { openCommandVerifier } from './verifier.ts';

export interface MqttModuleOptions {
  /** `badge.sources` and `badge.format`: `<base>/badge` is subscribed only when the sources list `mqtt`. */
  badge?: { sources: readonly string[]; format: BadgeFormat };
  /** `door.contact` is configured: Home Assistant gets a door contact sensor. */
  doorContact?: boolean;
  now?: () => number;
}

export interface MqttModule extends DaemonModule {
  /** The broker URL in use (the embedded broker's once started), null before start. */
  readonly url: string | null;
  readonly topics: Topics;
  readonly connected: boolean;
  stats(): Record<string, unknown>;
  /** Events journaled but not yet acknowledged by the broker. */
  outboxDepth(): number;
}

/** Room for the topic, properties and JSON framing around the largest payload we accept. */
const PACKET_OVERHEAD_BYTES = 64 * 1024;

export function createMqttModule(ctx: DaemonContext, config: MqttConfig, opts: MqttModuleOptions = {}): MqttModule {
  const logger = ctx.logger.child({ module: 'mqtt' });
  const now = opts.now ?? Date.now;
  const kioskId = config.kioskId ?? ctx.kioskId;
  const topics = buildTopics(config.baseTopic ?? defaultBaseTopic(kioskId));
  const startedAt = now();
  const largest = Math.max(
    config.limits.enrollPayloadBytes,
    config.limits.payloadBytes,
    config.fleet.enabled ? config.limits.fleetRecordBytes : 0,
  );
  const client = new MqttTransport({
    config,
    kioskId,
    statusTopic: topics.status,
    maxPacketBytes: largest + PACKET_OVERHEAD_BYTES,
    logger,
  });
  const base = { ctx, config, topics, kioskId, logger, now, client };
  let verifier: CommandVerifier | null = null;
  const deps: HandlerDeps = { ...base, inbound: createInbound(base), verifier: () => verifier };
  const badgeInput = opts.badge?.sources.includes('mqtt')
    ? { requireSigned: config.badgeInput.requireSigned, format: opts.badge.format }
    : null;
  const events = eventsOut(deps);
  const handlers: MqttHandler[] = [
    commandHandler(deps, events, stats),
    badgeInputHandler(deps, badgeInput),
    fleetHandler(deps),
    homeAssistantHandler(deps, { doorContact: opts.doorContact ?? false }),
    events,
  ];
  client.onConnect(() => {
    for (const h of handlers) h.connected?.();
    ctx.bus.emit('brokerState', { connected: true });
  });
  client.onDisconnect(() => {
    for (const h of handlers) h.disconnected?.();
    ctx.bus.emit('brokerState', { connected: false });
  });

  function stats(): Record<string, unknown> {
    const parts = Object.assign({}, ...handlers.map((h) => h.stats?.() ?? {})) as Record<string, unknown>;
    return {
      kiosk: kioskId,
      uptimeS: Math.round((now() - startedAt) / 1000),
      connected: client.connected,
      identities: ctx.db.list().length,
      tombstones: ctx.db.tombstones().length,
      ...parts,
      droppedFrames: ctx.analyser.droppedFrames,
    };
  }

  return {
    name: 'mqtt',
    topics,
    stats,
    outboxDepth: () => events.depth(),
    get url() {
      return client.url;
    },
    get connected() {
      return client.connected;
    },
    async start() {
      verifier = await openCommandVerifier(config, { dataDir: ctx.dataDir, kioskId, now, logger });
      for (const h of handlers) await h.start?.();
      await client.start();
    },
    async stop() {
      deps.inbound.stop(); // the last refusal summary still reaches the journal
      for (const h of [...handlers].reverse()) await h.stop?.();
      await client.stop();
      for (const h of [...handlers].reverse()) await h.close?.();
      await client.closeBroker();
    },
  };
}

/** The MQTT feature for compose's list: on when `mqtt.enabled`. */
export const mqttFeature: Feature = {
  name: 'mqtt',
  enabled: (config) => config.mqtt.enabled,
  create: (ctx, config) =>
    createMqttModule(ctx, config.mqtt, { badge: config.badge, doorContact: config.door.contact !== null }),
};
