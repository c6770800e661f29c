/**
 * What every inbound handler shares (commands, badge input, Home Assistant, fleet): each payload is refused by size
 * and shape before it is parsed (limits per topic family), then by signature. Refusals stay cheap and bounded: an
 * `admin-rejected` alarm for the first after a quiet second and one summary a second after that, error results
 * capped per second, audit lines capped per minute. Nothing a remote party sends can crash a handler: every one
 * ends in a result or an audit line (`guarded`).
 */
import type { IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';
import type { DaemonContext } from '../bus/module.ts';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import { errorMessage } from '../util/errors.ts';
import type { MessageHandler, MqttTransport } from './client.ts';
import type { CommandResult } from './commands.ts';
import { auditLimiter, Coalescer, describeCounts, RateLimit } from './rate-limits.ts';
import type { Topics } from './topics.ts';

export interface InboundDeps {
  ctx: DaemonContext;
  config: MqttConfig;
  topics: Topics;
  kioskId: string;
  logger: Logger;
  now: () => number;
  client: MqttTransport;
}

export interface InboundCounters {
  commandsAccepted: number;
  commandsRejected: number;
  malformed: number;
  badges: number;
}

export interface Inbound {
  readonly counters: InboundCounters;
  readonly jsonLimits: { maxDepth: number; maxItems: number };
  /** One audit line (capped per minute). */
  audit(fields: Record<string, unknown>, message: string): void;
  /** Answers on `<base>/cmd/<verb>/result` (and the MQTT 5 response topic of a signed command). */
  publishResult(verb: string, result: CommandResult, packet: IPublishPacket | null): void;
  /** A refusal worth an `admin-rejected` alarm: the first after a quiet second, then a summary per second. */
  refuse(key: string, detail: () => string, badge?: string): void;
  /** A payload refused before parsing: counted and audited; a command also gets an error result. */
  malformed(topic: string, reason: string, verb?: string): void;
  /** Wraps a handler so that whatever it throws or rejects becomes an audit line. */
  guarded(handler: (topic: string, payload: Buffer, packet: IPublishPacket) => unknown): MessageHandler;
  stats(): Record<string, number>;
  /** Reports the refusals still counted. */
  stop(): void;
}

export function createInbound(deps: InboundDeps): Inbound {
  const { ctx, config, topics, kioskId, now, client } = deps;
  const audit = auditLimiter(deps.logger);
  const counters: InboundCounters = { commandsAccepted: 0, commandsRejected: 0, malformed: 0, badges: 0 };
  const refusalResults = new RateLimit(config.limits.refusalResultsPerSecond, now);
  const refusals = new Coalescer(1000, (total, counts) =>
    ctx.bus.alarm('admin-rejected', `${total} more refusals in the last second: ${describeCounts(counts)}`, {
      time: now(),
    }),
  );

  function publishResult(verb: string, result: CommandResult, packet: IPublishPacket | null): void {
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

  return {
    counters,
    jsonLimits: { maxDepth: config.limits.jsonDepth, maxItems: config.limits.jsonItems },
    audit,
    publishResult,
    refuse(key, detail, badge) {
      if (refusals.add(key)) ctx.bus.alarm('admin-rejected', detail(), { time: now(), ...(badge ? { badge } : {}) });
    },
    malformed(topic, reason, verb) {
      counters.malformed += 1;
      audit({ topic: topic.slice(0, 200), reason }, verb ? 'malformed command' : 'malformed payload');
      if (verb !== undefined) publishResult(verb.slice(0, 40), { ok: false, error: reason }, null);
    },
    guarded(handler) {
      return (topic, payload, packet) => {
        const fail = (err: unknown) => audit({ topic, err: errorMessage(err) }, 'message handler failed');
        try {
          const result = handler(topic, payload, packet);
          if (result instanceof Promise) result.catch(fail);
        } catch (err) {
          fail(err);
        }
      };
    },
    stats: () => ({ ...counters, resultsSuppressed: refusalResults.suppressed }),
    stop: () => refusals.stop(),
  };
}
