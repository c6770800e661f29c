/**
 * Fleet sync (`mqtt.fleet.enabled`): identity records and tombstones shared by every kiosk of a site, retained under
 * `mqtt.fleet.topic` (src/mqtt/fleet.ts orders its own subscriptions on each connect), and the access rules
 * (schedules, holiday calendars, groups) under `<fleet topic>/rules/` (src/mqtt/rule-fleet.ts). Records are checked for size
 * and shape here, before the fleet code parses them; a refused record goes on as `{}` so the fleet code can repair
 * the retained copy.
 */
import { FleetSync, mqttFleetIo } from '../fleet.ts';
import { RuleFleetSync } from '../rule-fleet.ts';
import { scanJson } from '../validate.ts';
import type { HandlerDeps, MqttHandler } from './handler.ts';

/** What the fleet code gets instead of a record refused before parsing: its junk path (repair the retained copy). */
const REFUSED_RECORD = Buffer.from('{}');
/** A sync marker is a short token, not JSON: the fleet code compares it with the one it sent. */
const MAX_SYNC_MARKER_BYTES = 128;

export function fleetHandler(deps: HandlerDeps): MqttHandler {
  const { ctx, config, kioskId, logger, inbound, client } = deps;
  // The config refuses fleet sync without its own secret (src/config/sections/mqtt.ts).
  const secret = config.fleet.enabled ? config.fleet.secret : undefined;
  let fleet: FleetSync | null = null;
  let rules: RuleFleetSync | null = null;

  /** A retained record refused by size and shape before parsing (logged as malformed), or null when it may go on. */
  function refusal(topic: string, payload: Buffer): string | null {
    if (payload.length === 0) return null; // an emptied retained topic: the sync code answers it
    const scanned =
      payload.length > config.limits.fleetRecordBytes
        ? { ok: false as const, error: `record is ${payload.length} bytes, over ${config.limits.fleetRecordBytes}` }
        : scanJson(payload, inbound.jsonLimits);
    if (scanned.ok) return null;
    inbound.malformed(topic, scanned.error);
    return scanned.error;
  }

  function handleFleet(sync: FleetSync, topic: string, payload: Buffer): void {
    if (rules?.owns(topic)) {
      if (refusal(topic, payload) === null) rules.handle(topic, payload);
      return;
    }
    if (!sync.owns(topic)) return;
    if (sync.topics.parse(topic)?.kind === 'sync') {
      if (payload.length <= MAX_SYNC_MARKER_BYTES) sync.handle(topic, payload);
      else inbound.malformed(topic, `sync marker is ${payload.length} bytes`);
      return;
    }
    sync.handle(topic, refusal(topic, payload) === null ? payload : REFUSED_RECORD);
  }

  return {
    name: 'fleet',
    start() {
      if (!secret) return;
      const sync = new FleetSync(ctx, { prefix: config.fleet.topic, secret, kioskId, logger });
      fleet = sync;
      sync.start();
      rules = new RuleFleetSync(ctx.db, { prefix: config.fleet.topic, secret, kioskId, logger });
      rules.start();
      client.subscribe(
        `${config.fleet.topic}/#`,
        inbound.guarded((topic, payload) => handleFleet(sync, topic, payload)),
        { autoSubscribe: false },
      );
    },
    connected: () => {
      fleet?.connected(mqttFleetIo(client));
      rules?.connected(mqttFleetIo(client));
    },
    disconnected: () => {
      fleet?.disconnected();
      rules?.disconnected();
    },
    close: async () => {
      await fleet?.stop();
      await rules?.stop();
    },
    stats: () => ({
      fleet: fleet ? { pending: fleet.pending, applied: fleet.applied, rejected: fleet.rejected } : null,
      fleetRules: rules ? { applied: rules.applied, rejected: rules.rejected } : null,
    }),
  };
}
