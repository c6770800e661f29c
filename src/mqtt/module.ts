/**
 * The MQTT feature module: publishes what the daemon decides (access events, alarms, door state, online status)
 * and accepts signed admin commands, external badge reads and fleet identity records. It owns one MQTT.js
 * client; the outbox, verifier, command verbs, fleet sync and HA discovery are separate files it wires together.
 * Nothing a remote party sends can crash it: every message handler ends in a result or an audit line.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import { type AccessMode, type AlarmEvent, type DoorState, maskBadge } from '../daemon/event-bus.ts';
import type { DaemonContext, DaemonModule } from '../daemon/module.ts';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { CommandVerifier, parsePublicKey } from './auth.ts';
import { type CommandResult, MUTATING_VERBS, runCommand } from './commands.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';
import { FleetSync, mqttFleetIo } from './fleet.ts';
import { discoveryMessages } from './homeassistant.ts';
import { NonceStore } from './nonce-store.ts';
import { Outbox, OutboxPublisher } from './outbox.ts';
import { buildTopics, defaultBaseTopic, isCommandVerb, type Topics } from './topics.ts';
import { badgeSchema, checkSchema, parseJsonObject } from './validate.ts';

export interface MqttModuleOptions {
  /** The door flow's mode: in `badge`-only mode a badge opens the door, so MQTT badges must be signed. */
  accessMode?: AccessMode;
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

/** At most `perMinute` audit lines a minute, so a flood of junk cannot flood the journal instead. */
function auditLimiter(logger: Logger, perMinute = 30) {
  let windowStart = 0;
  let count = 0;
  let suppressed = 0;
  return (fields: Record<string, unknown>, msg: string) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      if (suppressed > 0) logger.warn({ event: 'mqtt-audit', suppressed }, 'audit lines suppressed in the last minute');
      windowStart = now;
      count = 0;
      suppressed = 0;
    }
    if (count < perMinute) {
      count += 1;
      logger.warn({ event: 'mqtt-audit', ...fields }, msg);
    } else suppressed += 1;
  };
}

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
  const audit = auditLimiter(logger);
  const now = opts.now ?? Date.now;
  const kioskId = config.kioskId ?? ctx.kioskId;
  const topics = buildTopics(config.baseTopic ?? defaultBaseTopic(kioskId));
  const startedAt = now();
  const counters = { commandsAccepted: 0, commandsRejected: 0, malformed: 0, badges: 0 };

  let client: MqttClient | null = null;
  let broker: EmbeddedBroker | null = null;
  let url: string | null = null;
  let outbox: Outbox | null = null;
  let publisher: OutboxPublisher | null = null;
  let verifier: CommandVerifier | null = null;
  let nonces: NonceStore | null = null;
  let fleet: FleetSync | null = null;
  let isConnected = false;
  let lastDoorState: DoorState | null = null;
  let mutations: Promise<unknown> = Promise.resolve();
  const unsubscribers: Array<() => void> = [];
  const badgeNeedsSignature =
    config.badgeInput.requireSigned === true ||
    (config.badgeInput.requireSigned === 'auto' && opts.accessMode === 'badge');

  function stats(): Record<string, unknown> {
    return {
      kiosk: kioskId,
      uptimeS: Math.round((now() - startedAt) / 1000),
      connected: isConnected,
      identities: ctx.db.list().length,
      tombstones: ctx.db.tombstones().length,
      outbox: outbox?.stats() ?? null,
      commands: { ...counters },
      fleet: fleet ? { pending: fleet.pending, applied: fleet.applied, rejected: fleet.rejected } : null,
      droppedFrames: ctx.analyser.droppedFrames,
    };
  }

  function journal(id: string, topic: string, body: object): void {
    if (!outbox) return;
    outbox.append({ id, topic, payload: JSON.stringify(body) }).catch((err) => {
      logger.error({ event: 'mqtt-outbox', err: errorMessage(err) }, 'event not journaled');
    });
  }

  function publishResult(verb: string, result: CommandResult, packet: IPublishPacket | null): void {
    if (!client) return;
    const body = JSON.stringify({ cmd: verb, kiosk: kioskId, ...result });
    client.publish(topics.result(verb), body, { qos: 1 }, () => undefined);
    const props = packet?.properties;
    // Only authenticated requests may steer where we publish (an unsigned one could aim us at any topic).
    if (
      result.ok !== undefined &&
      packet &&
      props?.responseTopic &&
      !String(result.error ?? '').startsWith('rejected:')
    ) {
      client.publish(
        props.responseTopic,
        body,
        { qos: 1, properties: { correlationData: props.correlationData } },
        () => undefined,
      );
    }
  }

  function reject(verb: string, reason: string, packet: IPublishPacket, extra: Record<string, unknown>): void {
    counters.commandsRejected += 1;
    publishResult(verb, { ok: false, error: `rejected: ${reason}`, ...extra }, packet);
    ctx.bus.alarm('admin-rejected', `cmd/${verb} refused: ${reason}`, { time: now() });
  }

  async function handleCommand(verb: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    if (!isCommandVerb(verb)) {
      counters.malformed += 1;
      publishResult(verb, { ok: false, error: `unknown command "${verb.slice(0, 40)}"` }, null);
      return;
    }
    const maxBytes = verb === 'enroll' ? config.limits.enrollPayloadBytes : config.limits.payloadBytes;
    const parsed = parseJsonObject(payload, { maxBytes, maxDepth: config.limits.jsonDepth });
    if (!parsed.ok) {
      counters.malformed += 1;
      audit({ topic: topics.command(verb), reason: parsed.error }, 'malformed command');
      publishResult(verb, { ok: false, error: parsed.error }, null);
      return;
    }
    const extra: Record<string, unknown> = {};
    if (typeof parsed.value.requestId === 'string') extra.requestId = parsed.value.requestId.slice(0, 128);
    if (typeof parsed.value.nonce === 'string') extra.nonce = parsed.value.nonce.slice(0, 128);
    const verdict = verifier
      ? await verifier.verify(verb, parsed.value)
      : { ok: false as const, reason: 'not started' };
    if (!verdict.ok) {
      audit({ topic: topics.command(verb), reason: verdict.reason }, 'admin command rejected');
      reject(verb, verdict.reason, packet, extra);
      return;
    }
    counters.commandsAccepted += 1;
    logger.info({ event: 'mqtt-command', verb, signer: verdict.signer }, 'admin command accepted');
    const env = { ctx, limits: config.limits, signer: verdict.signer, stats };
    const run = () =>
      runCommand(verb, env, parsed.value).catch((err): CommandResult => ({ ok: false, error: errorMessage(err) }));
    let result: CommandResult;
    if (MUTATING_VERBS.has(verb)) {
      const queued = mutations.then(run);
      mutations = queued.catch(() => undefined);
      result = await queued;
    } else result = await run();
    publishResult(verb, { ...result, ...extra }, packet);
  }

  async function handleBadge(payload: Buffer): Promise<void> {
    const parsed = parseJsonObject(payload, {
      maxBytes: config.limits.payloadBytes,
      maxDepth: config.limits.jsonDepth,
    });
    const checked = parsed.ok ? checkSchema(badgeSchema, parsed.value) : parsed;
    if (!checked.ok) {
      counters.malformed += 1;
      audit({ topic: topics.badge, reason: checked.error }, 'malformed badge payload');
      return;
    }
    if (badgeNeedsSignature) {
      const verdict = verifier
        ? await verifier.verify('badge', checked.value)
        : { ok: false as const, reason: 'not started' };
      if (!verdict.ok) {
        audit({ topic: topics.badge, reason: verdict.reason }, 'badge refused');
        ctx.bus.alarm('admin-rejected', `badge refused: ${verdict.reason}`, {
          time: now(),
          badge: maskBadge(checked.value.badge),
        });
        return;
      }
    }
    counters.badges += 1;
    const shown = config.badgeInput.logFull ? checked.value.badge : maskBadge(checked.value.badge);
    logger.info({ event: 'badge', source: 'mqtt', badge: shown }, 'badge read');
    ctx.bus.emit('badgeRead', { badge: checked.value.badge, source: 'mqtt' });
  }

  function handleHaLock(payload: Buffer): void {
    const text = payload.toString('utf8', 0, Math.min(payload.length, 16)).trim();
    if (text !== 'UNLOCK') return;
    if (!config.homeAssistant.allowRemoteUnlock) {
      audit({ topic: topics.haLockSet }, 'Home Assistant unlock ignored (homeAssistant.allowRemoteUnlock is off)');
      return;
    }
    ctx.bus.emit('unlockRequest', { by: 'home-assistant', reason: 'remote-unlock' });
  }

  function onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const fail = (err: unknown) => audit({ topic, err: errorMessage(err) }, 'message handler failed');
    try {
      if (fleet?.owns(topic)) fleet.handle(topic, payload);
      else if (topic === topics.badge) handleBadge(payload).catch(fail);
      else if (topic === topics.haLockSet) handleHaLock(payload);
      else {
        const verb = topics.verbOf(topic);
        if (verb !== null) handleCommand(verb, payload, packet).catch(fail);
      }
    } catch (err) {
      fail(err);
    }
  }

  function onConnect(c: MqttClient): void {
    isConnected = true;
    logger.info({ event: 'mqtt', url, base: topics.base }, 'connected to broker');
    c.publish(topics.status, 'online', { qos: 1, retain: true });
    const subscriptions: Record<string, { qos: 0 | 1 }> = { [topics.commandFilter]: { qos: 1 } };
    if (config.badgeInput.enabled) subscriptions[topics.badge] = { qos: 1 };
    if (config.homeAssistant.enabled) subscriptions[topics.haLockSet] = { qos: 1 };
    c.subscribe(subscriptions, (err) => {
      if (err) logger.error({ event: 'mqtt', err: errorMessage(err) }, 'subscribe failed');
    });
    // Fleet sync subscribes by itself, in order (tombstones before identity records).
    fleet?.connected(mqttFleetIo(c));
    if (lastDoorState) c.publish(topics.doorState, lastDoorState, { qos: 1, retain: true });
    if (config.homeAssistant.enabled) {
      for (const m of discoveryMessages(
        config.homeAssistant.discoveryPrefix,
        kioskId,
        topics,
        config.homeAssistant.allowRemoteUnlock,
      )) {
        c.publish(m.topic, m.payload, { qos: 1, retain: true });
      }
    }
    const dropped = outbox?.takeDropReport() ?? 0;
    if (dropped > 0) {
      const alarm: PublishedAlarm = {
        eventId: crypto.randomUUID(),
        time: new Date(now()).toISOString(),
        kind: 'outbox-overflow',
        detail: `${dropped} undelivered events were dropped (outbox.maxEvents reached while the broker was unreachable)`,
        kiosk: kioskId,
      };
      journal(alarm.eventId, topics.alarmEvent, alarm);
    }
    publisher?.setConnected(true);
    ctx.bus.emit('brokerState', { connected: true });
  }

  function onDisconnect(): void {
    if (!isConnected) return;
    isConnected = false;
    publisher?.setConnected(false);
    fleet?.disconnected();
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
      compactAfter: config.outbox.compactAfter,
      onDrop: (entry) =>
        logger.warn({ event: 'mqtt-outbox', eventId: entry.id }, 'outbox full: oldest undelivered event dropped'),
    });
    // The config refuses fleet sync without its own secret (src/config/sections/mqtt.ts).
    if (config.fleet.enabled && config.fleet.secret) {
      fleet = new FleetSync(ctx, { prefix: config.fleet.topic, secret: config.fleet.secret, kioskId, logger });
      fleet.start();
    }

    let protocolVersion: 4 | 5 = config.protocolVersion;
    url = config.url ?? null;
    if (!url) {
      if (!config.embeddedBroker.enabled)
        throw new FacegateError('mqtt: no url configured and the embedded broker is disabled', 78);
      const started = await startEmbeddedBroker(config.embeddedBroker.host, config.embeddedBroker.port);
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
      ctx.bus.on('access', (event) => journal(event.eventId, topics.accessEvent, { ...event, kiosk: kioskId })),
      ctx.bus.on('alarm', (event) => journal(event.eventId, topics.alarmEvent, { ...event, kiosk: kioskId })),
      // A reference to the new welcome portrait (never the image itself).
      ctx.bus.on('portrait', (portrait) => journal(portrait.id, topics.portraitEvent, { ...portrait, kiosk: kioskId })),
      ctx.bus.on('doorState', ({ state }) => {
        lastDoorState = state;
        if (isConnected) client?.publish(topics.doorState, state, { qos: 1, retain: true });
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
      // Brokers drop what we could never accept anyway.
      ...(protocolVersion === 5
        ? { properties: { maximumPacketSize: config.limits.enrollPayloadBytes + 64 * 1024 } }
        : {}),
    };
    const c = mqtt.connect(url, options);
    client = c;
    c.on('connect', () => onConnect(c));
    c.on('close', onDisconnect);
    c.on('offline', onDisconnect);
    c.on('error', (err) => logger.warn({ event: 'mqtt', url, err: errorMessage(err) }, 'broker connection error'));
    c.on('message', onMessage);
  }

  async function stop(): Promise<void> {
    for (const off of unsubscribers.splice(0)) off();
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
