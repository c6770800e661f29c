/**
 * Signed admin commands on `<base>/cmd/<verb>`: refused by size and shape before parsing (enroll has its own, larger
 * limit), then by signature; accepted ones run (src/mqtt/commands.ts has the verbs), the ones that change the
 * database one at a time in arrival order, and every one gets its result on `<base>/cmd/<verb>/result`.
 */
import type { IPublishPacket } from 'mqtt';
import { errorMessage } from '../../util/errors.ts';
import { type CommandResult, MUTATING_VERBS, runCommand } from '../commands.ts';
import { isCommandVerb } from '../topics.ts';
import { parseJsonObject } from '../validate.ts';
import type { EventsOut } from './events.ts';
import type { HandlerDeps, MqttHandler } from './handler.ts';

/** The access log's view of a command run: no payload beyond the id or name it concerned, no secret. */
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

export function commandHandler(
  deps: HandlerDeps,
  events: Pick<EventsOut, 'scrubbed'>,
  stats: () => Record<string, unknown>,
): MqttHandler {
  const { ctx, config, topics, logger, inbound, client } = deps;
  let mutations: Promise<unknown> = Promise.resolve();

  function reject(verb: string, reason: string, packet: IPublishPacket, extra: Record<string, unknown>): void {
    inbound.counters.commandsRejected += 1;
    inbound.publishResult(verb, { ok: false, error: `rejected: ${reason}`, ...extra }, packet);
    inbound.refuse(`cmd/${verb}: ${reason}`, () => `cmd/${verb} refused: ${reason}`);
  }

  async function handleCommand(verb: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    if (!isCommandVerb(verb)) {
      inbound.malformed(topics.command(verb), `unknown command "${verb.slice(0, 40)}"`, verb);
      return;
    }
    const maxBytes = verb === 'enroll' ? config.limits.enrollPayloadBytes : config.limits.payloadBytes;
    const parsed = parseJsonObject(payload, { maxBytes, ...inbound.jsonLimits });
    if (!parsed.ok) {
      inbound.malformed(topics.command(verb), parsed.error, verb);
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
      inbound.audit({ topic: topics.command(verb), reason: verdict.reason }, 'admin command rejected');
      reject(verb, verdict.reason, packet, extra);
      return;
    }
    inbound.counters.commandsAccepted += 1;
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
    // "ok" to a delete means the journal no longer names the person (events out scrubs it on identitiesChanged).
    if (verb === 'delete') await events.scrubbed();
    ctx.bus.emit('adminAction', adminActionOf(verb, verdict.signer, parsed.value, result));
    inbound.publishResult(verb, { ...result, ...extra }, packet);
  }

  return {
    name: 'commands',
    start() {
      const onCommand = inbound.guarded((topic, payload, packet) => {
        const verb = topics.verbOf(topic);
        return verb === null ? undefined : handleCommand(verb, payload, packet);
      });
      // `<base>/cmd/<verb>` and the access-rule verbs `<base>/cmd/<group>/<action>` (schedule/add, group/members...).
      for (const filter of [topics.commandFilter, ...topics.ruleCommandFilters]) client.subscribe(filter, onCommand);
    },
    stats: () => ({ commands: inbound.stats() }),
  };
}
