/**
 * Everything the MQTT module receives: signed admin commands, badge reads and fleet records, each refused by size
 * and shape before it is parsed (limits per topic family), then by signature. Refusals stay cheap and bounded: an
 * `admin-rejected` alarm for the first after a quiet second and one summary a second after that, error results
 * capped per second, audit lines capped per minute. Nothing a remote party sends can crash it: every handler ends
 * in a result or an audit line.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { maskBadge } from '../bus/event-bus.ts';
import type { DaemonContext } from '../bus/module.ts';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import { errorMessage } from '../util/errors.ts';
import type { CommandVerifier } from './auth.ts';
import { type BadgeInputOptions, readMqttBadge } from './badge-input.ts';
import { type CommandResult, MUTATING_VERBS, runCommand } from './commands.ts';
import type { FleetSync } from './fleet.ts';
import { auditLimiter, Coalescer, describeCounts, RateLimit } from './rate-limits.ts';
import { isCommandVerb, type Topics } from './topics.ts';
import { parseJsonObject, scanJson } from './validate.ts';

/** The access log's view of a command run: no payload beyond the id it concerned, no secret. */
function adminActionOf(verb: string, signer: string, payload: Record<string, unknown>, result: CommandResult) {
  const id =
    typeof payload.id === 'string'
      ? payload.id.slice(0, 128)
      : typeof payload.name === 'string'
        ? payload.name.slice(0, 128)
        : null;
  return {
    action: verb,
    by: `mqtt:${signer}`.slice(0, 128),
    ok: result.ok,
    identityId: id,
    detail: result.ok ? '' : String(result.error).slice(0, 200),
  };
}

/** What the fleet handler gets instead of a record refused before parsing: its junk path (repair the retained copy). */
const REFUSED_RECORD = Buffer.from('{}');

export interface InboundDeps {
  ctx: DaemonContext;
  config: MqttConfig;
  topics: Topics;
  kioskId: string;
  logger: Logger;
  now: () => number;
  /** Null unless `badge.sources` lists `mqtt`. */
  badgeInput: BadgeInputOptions | null;
  client(): MqttClient | null;
  verifier(): CommandVerifier | null;
  fleet(): FleetSync | null;
  stats(): Record<string, unknown>;
  /** Settles once the journal no longer names the identity just deleted. */
  scrubbed(): Promise<unknown>;
}

export interface Inbound {
  onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void;
  counters(): Record<string, number>;
  /** Reports the refusals still counted. */
  stop(): void;
}

export function createInbound(deps: InboundDeps): Inbound {
  const { ctx, config, topics, kioskId, logger, now, badgeInput } = deps;
  const audit = auditLimiter(logger);
  const counters = { commandsAccepted: 0, commandsRejected: 0, malformed: 0, badges: 0 };
  const jsonLimits = { maxDepth: config.limits.jsonDepth, maxItems: config.limits.jsonItems };
  const refusalResults = new RateLimit(config.limits.refusalResultsPerSecond, now);
  const refusals = new Coalescer(1000, (total, counts) =>
    ctx.bus.alarm('admin-rejected', `${total} more refusals in the last second: ${describeCounts(counts)}`, {
      time: now(),
    }),
  );
  let mutations: Promise<unknown> = Promise.resolve();

  function publishResult(verb: string, result: CommandResult, packet: IPublishPacket | null): void {
    const client = deps.client();
    if (!client) return;
    // Answers to strangers (malformed or unauthenticated) are capped per second and sent at QoS 0; a signed command
    // is always answered at QoS 1, also on its MQTT 5 response topic (an unsigned one could aim us at any topic).
    const stranger = result.ok !== true && (packet === null || String(result.error ?? '').startsWith('rejected:'));
    if (stranger && !refusalResults.take()) return;
    const body = JSON.stringify({ cmd: verb, kiosk: kioskId, ...result });
    client.publish(topics.result(verb), body, { qos: stranger ? 0 : 1 }, () => undefined);
    const props = packet?.properties;
    if (!stranger && props?.responseTopic) {
      client.publish(
        props.responseTopic,
        body,
        { qos: 1, properties: { correlationData: props.correlationData } },
        () => undefined,
      );
    }
  }

  function refuse(key: string, detail: () => string, badge?: string): void {
    if (refusals.add(key)) ctx.bus.alarm('admin-rejected', detail(), { time: now(), ...(badge ? { badge } : {}) });
  }

  function reject(verb: string, reason: string, packet: IPublishPacket, extra: Record<string, unknown>): void {
    counters.commandsRejected += 1;
    publishResult(verb, { ok: false, error: `rejected: ${reason}`, ...extra }, packet);
    refuse(`cmd/${verb}: ${reason}`, () => `cmd/${verb} refused: ${reason}`);
  }

  function malformed(topic: string, reason: string, verb?: string): void {
    counters.malformed += 1;
    audit({ topic: topic.slice(0, 200), reason }, verb ? 'malformed command' : 'malformed payload');
    if (verb !== undefined) publishResult(verb.slice(0, 40), { ok: false, error: reason }, null);
  }

  async function handleCommand(verb: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    if (!isCommandVerb(verb)) {
      malformed(topics.command(verb), `unknown command "${verb.slice(0, 40)}"`, verb);
      return;
    }
    const maxBytes = verb === 'enroll' ? config.limits.enrollPayloadBytes : config.limits.payloadBytes;
    const parsed = parseJsonObject(payload, { maxBytes, ...jsonLimits });
    if (!parsed.ok) {
      malformed(topics.command(verb), parsed.error, verb);
      return;
    }
    const extra: Record<string, unknown> = {};
    if (typeof parsed.value.requestId === 'string') extra.requestId = parsed.value.requestId.slice(0, 128);
    if (typeof parsed.value.nonce === 'string') extra.nonce = parsed.value.nonce.slice(0, 128);
    const verifier = deps.verifier();
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
    const env = { ctx, limits: config.limits, signer: verdict.signer, stats: deps.stats };
    const run = () =>
      runCommand(verb, env, parsed.value).catch((err): CommandResult => ({ ok: false, error: errorMessage(err) }));
    let result: CommandResult;
    if (MUTATING_VERBS.has(verb)) {
      const queued = mutations.then(run);
      mutations = queued.catch(() => undefined);
      result = await queued;
    } else result = await run();
    // "ok" to a delete means the journal no longer names the person (the module scrubs it on identitiesChanged).
    if (verb === 'delete') await deps.scrubbed();
    ctx.bus.emit('adminAction', adminActionOf(verb, verdict.signer, parsed.value, result));
    publishResult(verb, { ...result, ...extra }, packet);
  }

  async function handleBadge(payload: Buffer): Promise<void> {
    if (!badgeInput) return;
    const read = await readMqttBadge(payload, badgeInput, deps.verifier());
    if (!read.ok) {
      if (read.refused === 'malformed') malformed(topics.badge, read.reason);
      else {
        audit({ topic: topics.badge, reason: read.reason }, 'badge refused');
        refuse(`badge: ${read.reason}`, () => `badge refused: ${read.reason}`, read.masked);
      }
      return;
    }
    counters.badges += 1;
    const shown = config.badgeInput.logFull ? read.badge : maskBadge(read.badge);
    logger.info({ event: 'badge', source: 'mqtt', badge: shown }, 'badge read');
    ctx.bus.emit('badgeRead', { badge: read.badge, source: 'mqtt' });
  }

  /** Fleet records are checked for size and shape here, before the fleet code parses them. */
  function handleFleet(topic: string, payload: Buffer): void {
    const fleet = deps.fleet();
    if (!fleet) return;
    // A sync marker is a short token, not JSON: the fleet code compares it with the one it sent.
    if (fleet.topics.parse(topic)?.kind === 'sync') {
      if (payload.length <= 128) fleet.handle(topic, payload);
      else malformed(topic, `sync marker is ${payload.length} bytes`);
      return;
    }
    if (payload.length > 0) {
      const scanned =
        payload.length > config.limits.fleetRecordBytes
          ? { ok: false as const, error: `record is ${payload.length} bytes, over ${config.limits.fleetRecordBytes}` }
          : scanJson(payload, jsonLimits);
      if (!scanned.ok) {
        malformed(topic, scanned.error);
        fleet.handle(topic, REFUSED_RECORD);
        return;
      }
    }
    fleet.handle(topic, payload);
  }

  function handleHaLock(payload: Buffer): void {
    if (payload.length > 64) {
      malformed(topics.haLockSet, `payload is ${payload.length} bytes`);
      return;
    }
    const text = payload.toString('utf8').trim();
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
      const fleet = deps.fleet();
      if (fleet?.owns(topic)) handleFleet(topic, payload);
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

  return {
    onMessage,
    counters: () => ({ ...counters, resultsSuppressed: refusalResults.suppressed }),
    stop: () => refusals.stop(),
  };
}
