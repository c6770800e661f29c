/**
 * The MQTT feature module: publishes what the daemon decides (access events, alarms, door state, online status)
 * and accepts signed admin commands, external badge reads and fleet identity records. It owns one MQTT.js
 * client; the inbound handlers, outbox, verifier, command verbs, fleet sync and HA discovery are separate files it
 * wires together.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { AlarmEvent, DoorState } from '../bus/event-bus.ts';
import type { DaemonContext, DaemonModule } from '../bus/module.ts';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import type { BadgeFormat } from '../hardware/badge/normalise.ts';
import type { RelayState } from '../hardware/relay/relay.ts';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { facegateVersion } from '../util/version.ts';
import { CommandVerifier, parsePublicKey } from './auth.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';
import { FleetSync, mqttFleetIo } from './fleet.ts';
import { DiscoveryAnnouncer, LOCK_STATE_PAYLOADS } from './homeassistant.ts';
import { createInbound } from './inbound.ts';
import { NonceStore } from './nonce-store.ts';
import { Outbox, type OutboxLane, OutboxPublisher } from './outbox.ts';
import { OverflowReporter } from './overflow-report.ts';
import { RuleFleetSync } from './rule-fleet.ts';
import { buildTopics, defaultBaseTopic, type Topics } from './topics.ts';

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

/** An alarm the module raises itself; `outbox-overflow` is not a door alarm, so it never goes through the bus. */
type PublishedAlarm = Omit<AlarmEvent, 'kind'> & { kind: AlarmEvent['kind'] | 'outbox-overflow'; kiosk: string };

/** Room for the topic, properties and JSON framing around the largest payload we accept. */
const PACKET_OVERHEAD_BYTES = 64 * 1024;

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new FacegateError(
      `mqtt.tls.${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      78,
    );
  }
}

export function createMqttModule(ctx: DaemonContext, config: MqttConfig, opts: MqttModuleOptions = {}): MqttModule {
  const logger = ctx.logger.child({ module: 'mqtt' });
  const now = opts.now ?? Date.now;
  const kioskId = config.kioskId ?? ctx.kioskId;
  const topics = buildTopics(config.baseTopic ?? defaultBaseTopic(kioskId));
  const startedAt = now();

  let client: MqttClient | null = null;
  let broker: EmbeddedBroker | null = null;
  let url: string | null = null;
  let outbox: Outbox | null = null;
  let publisher: OutboxPublisher | null = null;
  let verifier: CommandVerifier | null = null;
  let nonces: NonceStore | null = null;
  let fleet: FleetSync | null = null;
  let ruleFleet: RuleFleetSync | null = null;
  let isConnected = false;
  let lastDoorState: DoorState | null = null;
  // The controller drives the relay locked (start-up) before it starts feature modules; `relay` events follow it.
  let lockState: RelayState = 'locked';
  let scrubbing: Promise<unknown> = Promise.resolve();
  let overflow: OverflowReporter | null = null;
  const unsubscribers: Array<() => void> = [];
  const ha = config.homeAssistant.enabled
    ? new DiscoveryAnnouncer({
        prefix: config.homeAssistant.discoveryPrefix,
        kioskId,
        topics,
        allowRemoteUnlock: config.homeAssistant.allowRemoteUnlock,
        doorContact: opts.doorContact ?? false,
        version: facegateVersion(),
        logger,
        publish: (m) => client?.publish(m.topic, m.payload, { qos: 1, retain: true }),
      })
    : null;
  const badgeInput = opts.badge?.sources.includes('mqtt')
    ? { requireSigned: config.badgeInput.requireSigned, format: opts.badge.format }
    : null;
  const inbound = createInbound({
    ctx,
    config,
    topics,
    kioskId,
    logger,
    now,
    badgeInput,
    client: () => client,
    verifier: () => verifier,
    fleet: () => fleet,
    stats,
    scrubbed: () => scrubbing,
  });
  const largestPayload = Math.max(
    config.limits.enrollPayloadBytes,
    config.limits.payloadBytes,
    config.fleet.enabled ? config.limits.fleetRecordBytes : 0,
  );

  function stats(): Record<string, unknown> {
    return {
      kiosk: kioskId,
      uptimeS: Math.round((now() - startedAt) / 1000),
      connected: isConnected,
      identities: ctx.db.list().length,
      tombstones: ctx.db.tombstones().length,
      outbox: outbox?.stats() ?? null,
      commands: inbound.counters(),
      fleet: fleet ? { pending: fleet.pending, applied: fleet.applied, rejected: fleet.rejected } : null,
      droppedFrames: ctx.analyser.droppedFrames,
    };
  }

  function journal(id: string, topic: string, body: object, lane: OutboxLane = 'event', subject?: string): void {
    if (!outbox) return;
    const entry = { id, topic, payload: JSON.stringify(body), lane, ...(subject ? { subject } : {}) };
    outbox.append(entry).catch((err) => {
      logger.error({ event: 'mqtt-outbox', err: errorMessage(err) }, 'event not journaled');
    });
  }

  function onConnect(c: MqttClient): void {
    isConnected = true;
    logger.info({ event: 'mqtt', url, base: topics.base }, 'connected to broker');
    c.publish(topics.status, 'online', { qos: 1, retain: true });
    const subscriptions: Record<string, { qos: 0 | 1 }> = { [topics.commandFilter]: { qos: 1 } };
    for (const filter of topics.ruleCommandFilters) subscriptions[filter] = { qos: 1 };
    if (badgeInput) subscriptions[topics.badge] = { qos: 1 };
    if (config.homeAssistant.enabled) subscriptions[topics.haLockSet] = { qos: 1 };
    if (ha) subscriptions[ha.statusTopic] = { qos: 1 };
    c.subscribe(subscriptions, (err) => {
      if (err) logger.error({ event: 'mqtt', err: errorMessage(err) }, 'subscribe failed');
    });
    // Fleet sync subscribes by itself, in order (tombstones before identity records).
    fleet?.connected(mqttFleetIo(c));
    ruleFleet?.connected(mqttFleetIo(c));
    if (lastDoorState) c.publish(topics.doorState, lastDoorState, { qos: 1, retain: true });
    c.publish(topics.lockState, LOCK_STATE_PAYLOADS[lockState], { qos: 1, retain: true });
    ha?.announce();
    overflow?.setConnected(true);
    publisher?.setConnected(true);
    ctx.bus.emit('brokerState', { connected: true });
  }

  function onDisconnect(): void {
    if (!isConnected) return;
    isConnected = false;
    overflow?.setConnected(false);
    publisher?.setConnected(false);
    fleet?.disconnected();
    ruleFleet?.disconnected();
    logger.warn({ event: 'mqtt', url }, 'broker connection lost; events are kept in the outbox');
    ctx.bus.emit('brokerState', { connected: false });
  }

  async function start(): Promise<void> {
    const publicKeys = config.adminPublicKeys.map((k, i) => {
      try {
        return parsePublicKey(k);
      } catch (err) {
        throw new FacegateError(`mqtt.adminPublicKeys.${i}: ${errorMessage(err)}`, 78);
      }
    });
    nonces = await NonceStore.open(ctx.dataDir, config.signatureWindowMs, now);
    verifier = new CommandVerifier({
      secret: config.adminSecret,
      publicKeys,
      windowMs: config.signatureWindowMs,
      kioskId,
      acceptWildcardKiosk: config.acceptWildcardKiosk,
      nonces,
      now,
    });
    if (!verifier.configured)
      logger.warn(
        { event: 'mqtt' },
        'no mqtt.adminSecret / FACEGATE_ADMIN_SECRET or admin keys: admin commands are refused',
      );
    outbox = await Outbox.open(ctx.dataDir, {
      maxEvents: config.outbox.maxEvents,
      maxAudit: config.outbox.maxAuditEvents,
      compactAfter: config.outbox.compactAfter,
      // Not a log line per drop: the report (one warn line and one alarm) sums them up within a second.
      onDrop: () => overflow?.schedule(),
    });
    overflow = new OverflowReporter({
      outbox,
      logger,
      raise: (detail) => {
        const alarm: PublishedAlarm = {
          eventId: crypto.randomUUID(),
          time: new Date(now()).toISOString(),
          kind: 'outbox-overflow',
          detail,
          kiosk: kioskId,
        };
        journal(alarm.eventId, topics.alarmEvent, alarm, 'alert');
        return alarm.eventId;
      },
    });
    // The config refuses fleet sync without its own secret (src/config/sections/mqtt.ts).
    if (config.fleet.enabled && config.fleet.secret) {
      fleet = new FleetSync(ctx, { prefix: config.fleet.topic, secret: config.fleet.secret, kioskId, logger });
      fleet.start();
      ruleFleet = new RuleFleetSync(ctx.db, {
        prefix: config.fleet.topic,
        secret: config.fleet.secret,
        kioskId,
        logger,
      });
      ruleFleet.start();
    }

    let protocolVersion: 4 | 5 = config.protocolVersion;
    url = config.url ?? null;
    if (!url) {
      if (!config.embeddedBroker.enabled)
        throw new FacegateError('mqtt: no url configured and the embedded broker is disabled', 78);
      const started = await startEmbeddedBroker(config.embeddedBroker.host, config.embeddedBroker.port, {
        maxPacketBytes: largestPayload + PACKET_OVERHEAD_BYTES,
      });
      broker = started;
      url = started.url;
      protocolVersion = 4;
      logger.info(
        { event: 'mqtt', url, fellBack: started.fellBack },
        started.fellBack
          ? `embedded broker on ${url} (port ${config.embeddedBroker.port} was busy)`
          : `embedded broker on ${url}`,
      );
    }

    publisher = new OutboxPublisher(outbox, config.outbox.inflight, (entry, done) => {
      client?.publish(entry.topic, entry.payload, { qos: 1 }, (err) => done(err ?? undefined));
    });
    unsubscribers.push(
      ctx.bus.on('access', (event) =>
        journal(
          event.eventId,
          topics.accessEvent,
          { ...event, kiosk: kioskId },
          'event',
          event.identityId ?? undefined,
        ),
      ),
      ctx.bus.on('alarm', (event) =>
        journal(
          event.eventId,
          topics.alarmEvent,
          { ...event, kiosk: kioskId },
          event.kind === 'admin-rejected' ? 'audit' : 'event',
        ),
      ),
      ctx.bus.on('identitiesChanged', ({ id, change }) => {
        if (change !== 'deleted' || !outbox) return;
        scrubbing = outbox
          .scrub(id)
          .catch((err) => logger.error({ event: 'mqtt-outbox', err: errorMessage(err) }, 'journal not scrubbed'));
      }),
      // A reference to the new welcome portrait (never the image itself).
      ctx.bus.on('portrait', (portrait) =>
        journal(portrait.id, topics.portraitEvent, { ...portrait, kiosk: kioskId }, 'event', portrait.identityId),
      ),
      ctx.bus.on('doorState', ({ state }) => {
        lastDoorState = state;
        if (isConnected) client?.publish(topics.doorState, state, { qos: 1, retain: true });
      }),
      ctx.bus.on('relay', ({ state }) => {
        lockState = state;
        if (isConnected) client?.publish(topics.lockState, LOCK_STATE_PAYLOADS[state], { qos: 1, retain: true });
      }),
    );

    const options: IClientOptions = {
      clientId: `facegate-${kioskId}`.slice(0, 64),
      clean: true,
      protocolVersion,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
      username: config.username,
      password: config.password,
      ca: readPem(config.tls?.ca, 'ca'),
      cert: readPem(config.tls?.cert, 'cert'),
      key: readPem(config.tls?.key, 'key'),
      rejectUnauthorized: config.tls?.rejectUnauthorized ?? true,
      // The broker drops what we would refuse anyway (MQTT 5), and MQTT.js refuses a bigger packet from a broker
      // that ignores it; with 3.1.1 the per-topic limits still refuse it before parsing.
      ...(protocolVersion === 5 ? { properties: { maximumPacketSize: largestPayload + PACKET_OVERHEAD_BYTES } } : {}),
    };
    const c = mqtt.connect(url, options);
    client = c;
    c.on('connect', () => onConnect(c));
    c.on('close', onDisconnect);
    c.on('offline', onDisconnect);
    c.on('error', (err) => logger.warn({ event: 'mqtt', url, err: errorMessage(err) }, 'broker connection error'));
    c.on('message', inbound.onMessage);
    if (ruleFleet) c.on('message', (topic, payload) => ruleFleet?.handle(topic, payload));
    if (ha) c.on('message', (topic, payload, packet) => ha.onMessage(topic, payload, packet.retain));
  }

  async function stop(): Promise<void> {
    inbound.stop(); // the last refusal summary still reaches the journal
    ha?.stop();
    for (const off of unsubscribers.splice(0)) off();
    overflow?.stop();
    publisher?.stop();
    const c = client;
    client = null;
    if (c) {
      if (isConnected) {
        // A clean stop says so; the Last Will covers every other way of going away.
        await Promise.race([
          new Promise<void>((resolve) =>
            c.publish(topics.status, 'offline', { qos: 1, retain: true }, () => resolve()),
          ),
          new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
      }
      await c.endAsync(true).catch(() => undefined);
    }
    isConnected = false;
    await fleet?.stop();
    await ruleFleet?.stop();
    await outbox?.close();
    await broker?.close();
    broker = null;
  }

  return {
    name: 'mqtt',
    start,
    stop,
    stats,
    outboxDepth: () => outbox?.stats().pending ?? 0,
    topics,
    get url() {
      return url;
    },
    get connected() {
      return isConnected;
    },
  };
}
