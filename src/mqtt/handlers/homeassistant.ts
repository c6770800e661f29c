/**
 * Home Assistant (`mqtt.homeAssistant.enabled`): discovery configs announced on every connect and again when HA
 * says it is back `online` (src/mqtt/homeassistant.ts), and the lock entity's `<base>/ha/lock/set`. An `UNLOCK`
 * there becomes an `unlockRequest` only with `allowRemoteUnlock`; anything else is ignored or audited.
 */
import { facegateVersion } from '../../util/version.ts';
import { DiscoveryAnnouncer } from '../homeassistant.ts';
import type { HandlerDeps, MqttHandler } from './handler.ts';

/** `UNLOCK` and `LOCK` are a few bytes: anything longer is refused before it is read. */
const MAX_LOCK_PAYLOAD_BYTES = 64;

export function homeAssistantHandler(deps: HandlerDeps, opts: { doorContact: boolean }): MqttHandler {
  const { ctx, config, topics, kioskId, logger, inbound, client } = deps;
  const settings = config.homeAssistant;
  const ha = settings.enabled
    ? new DiscoveryAnnouncer({
        prefix: settings.discoveryPrefix,
        kioskId,
        topics,
        allowRemoteUnlock: settings.allowRemoteUnlock,
        doorContact: opts.doorContact,
        version: facegateVersion(),
        logger,
        publish: (m) => client.publish(m.topic, m.payload, { qos: 1, retain: true }),
      })
    : null;

  function handleLock(payload: Buffer): void {
    if (payload.length > MAX_LOCK_PAYLOAD_BYTES) {
      inbound.malformed(topics.haLockSet, `payload is ${payload.length} bytes`);
      return;
    }
    const text = payload.toString('utf8').trim();
    if (text !== 'UNLOCK') return;
    if (!settings.allowRemoteUnlock) {
      inbound.audit(
        { topic: topics.haLockSet },
        'Home Assistant unlock ignored (homeAssistant.allowRemoteUnlock is off)',
      );
      return;
    }
    ctx.bus.emit('unlockRequest', { by: 'home-assistant', reason: 'remote-unlock' });
  }

  return {
    name: 'home-assistant',
    start() {
      if (!ha) return;
      client.subscribe(
        topics.haLockSet,
        inbound.guarded((_topic, payload) => handleLock(payload)),
      );
      client.subscribe(
        ha.statusTopic,
        inbound.guarded((topic, payload, packet) => ha.onMessage(topic, payload, packet.retain)),
      );
    },
    connected: () => ha?.announce(),
    stop: () => ha?.stop(),
  };
}
