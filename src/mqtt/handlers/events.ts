/**
 * Events out: what the daemon decides goes to the broker. Access events, alarms and portrait references are
 * journaled in the outbox (fsync before publish, kept across restarts and broker outages) and published at QoS 1 in
 * order; the door and lock states are retained and re-sent on every connect. A deleted identity is scrubbed from
 * the journal. An outbox overflow raises its own `outbox-overflow` alarm in the outbox's `alert` lane (not a door
 * alarm, so never on the bus). Metrics follow the outbox depth through `outboxDepth` on the bus.
 */
import type { AlarmEvent, DoorState } from '../../bus/event-bus.ts';
import type { RelayState } from '../../hardware/relay/relay.ts';
import { errorMessage } from '../../util/errors.ts';
import { LOCK_STATE_PAYLOADS } from '../homeassistant.ts';
import { Outbox, type OutboxLane, OutboxPublisher } from '../outbox.ts';
import { OverflowReporter } from '../overflow-report.ts';
import type { HandlerDeps, MqttHandler } from './handler.ts';

/** An alarm the module raises itself; `outbox-overflow` is not a door alarm, so it never goes through the bus. */
type PublishedAlarm = Omit<AlarmEvent, 'kind'> & { kind: AlarmEvent['kind'] | 'outbox-overflow'; kiosk: string };

export interface EventsOut extends MqttHandler {
  /** Settles once the journal no longer names the identity deleted last. */
  scrubbed(): Promise<unknown>;
  /** Events journaled but not yet acknowledged by the broker. */
  depth(): number;
}

export function eventsOut(deps: HandlerDeps): EventsOut {
  const { ctx, config, topics, kioskId, logger, now, client } = deps;
  let outbox: Outbox | null = null;
  let publisher: OutboxPublisher | null = null;
  let overflow: OverflowReporter | null = null;
  let lastDoorState: DoorState | null = null;
  // compose drives the relay locked (start-up) before it starts feature modules; `relay` events follow it.
  let lockState: RelayState = 'locked';
  let scrubbing: Promise<unknown> = Promise.resolve();
  const offs: Array<() => void> = [];

  const depth = () => outbox?.stats().pending ?? 0;
  const depthChanged = () => ctx.bus.emit('outboxDepth', { depth: depth() });

  function journal(id: string, topic: string, body: object, lane: OutboxLane = 'event', subject?: string): void {
    if (!outbox) return;
    const entry = { id, topic, payload: JSON.stringify(body), lane, ...(subject ? { subject } : {}) };
    outbox.append(entry).then(depthChanged, (err) => {
      logger.error({ event: 'mqtt-outbox', err: errorMessage(err) }, 'event not journaled');
    });
  }

  return {
    name: 'events',
    scrubbed: () => scrubbing,
    depth,
    stats: () => ({ outbox: outbox?.stats() ?? null }),

    async start() {
      const opened = await Outbox.open(ctx.dataDir, {
        maxEvents: config.outbox.maxEvents,
        maxAudit: config.outbox.maxAuditEvents,
        compactAfter: config.outbox.compactAfter,
        // Not a log line per drop: the report (one warn line and one alarm) sums them up within a second.
        onDrop: () => overflow?.schedule(),
      });
      outbox = opened;
      overflow = new OverflowReporter({
        outbox: opened,
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
      publisher = new OutboxPublisher(opened, config.outbox.inflight, (entry, done) => {
        client.publish(entry.topic, entry.payload, { qos: 1 }, (err) => {
          done(err);
          depthChanged();
        });
      });
      depthChanged();
      const { bus } = ctx;
      offs.push(
        bus.on('access', (event) =>
          journal(
            event.eventId,
            topics.accessEvent,
            { ...event, kiosk: kioskId },
            'event',
            event.identityId ?? undefined,
          ),
        ),
        bus.on('alarm', (event) =>
          journal(
            event.eventId,
            topics.alarmEvent,
            { ...event, kiosk: kioskId },
            event.kind === 'admin-rejected' ? 'audit' : 'event',
          ),
        ),
        bus.on('identitiesChanged', ({ id, change }) => {
          if (change !== 'deleted') return;
          scrubbing = opened
            .scrub(id)
            .then(depthChanged)
            .catch((err) => logger.error({ event: 'mqtt-outbox', err: errorMessage(err) }, 'journal not scrubbed'));
        }),
        // A reference to the new welcome portrait (never the image itself).
        bus.on('portrait', (portrait) =>
          journal(portrait.id, topics.portraitEvent, { ...portrait, kiosk: kioskId }, 'event', portrait.identityId),
        ),
        bus.on('doorState', ({ state }) => {
          lastDoorState = state;
          if (client.connected) client.publish(topics.doorState, state, { qos: 1, retain: true });
        }),
        bus.on('relay', ({ state }) => {
          lockState = state;
          if (client.connected) client.publish(topics.lockState, LOCK_STATE_PAYLOADS[state], { qos: 1, retain: true });
        }),
      );
    },

    connected() {
      if (lastDoorState) client.publish(topics.doorState, lastDoorState, { qos: 1, retain: true });
      client.publish(topics.lockState, LOCK_STATE_PAYLOADS[lockState], { qos: 1, retain: true });
      overflow?.setConnected(true);
      publisher?.setConnected(true);
    },

    disconnected() {
      overflow?.setConnected(false);
      publisher?.setConnected(false);
    },

    stop() {
      for (const off of offs.splice(0)) off();
      overflow?.stop();
      publisher?.stop();
    },

    async close() {
      await outbox?.close();
    },
  };
}
