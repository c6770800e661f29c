/**
 * Badge reads on `<base>/badge`, for readers bridged to MQTT: subscribed only when `badge.sources` lists `mqtt`.
 * A read passes src/mqtt/badge-input.ts (size, shape, signature, normalisation) and becomes `badgeRead` on the bus,
 * like every other reader's; a refused one is audited and, when signed wrongly, raises `admin-rejected`.
 */
import { maskBadge } from '../../bus/event-bus.ts';
import { type BadgeInputOptions, readMqttBadge } from '../badge-input.ts';
import type { HandlerDeps, MqttHandler } from './handler.ts';

export function badgeInputHandler(deps: HandlerDeps, badgeInput: BadgeInputOptions | null): MqttHandler {
  const { ctx, config, topics, logger, inbound, client } = deps;

  async function handleBadge(payload: Buffer): Promise<void> {
    if (!badgeInput) return;
    const read = await readMqttBadge(payload, badgeInput, deps.verifier());
    if (!read.ok) {
      if (read.refused === 'malformed') inbound.malformed(topics.badge, read.reason);
      else {
        inbound.audit({ topic: topics.badge, reason: read.reason }, 'badge refused');
        inbound.refuse(`badge: ${read.reason}`, () => `badge refused: ${read.reason}`, read.masked);
      }
      return;
    }
    inbound.counters.badges += 1;
    const shown = config.badgeInput.logFull ? read.badge : maskBadge(read.badge);
    logger.info({ event: 'badge', source: 'mqtt', badge: shown }, 'badge read');
    ctx.bus.emit('badgeRead', { badge: read.badge, source: 'mqtt' });
  }

  return {
    name: 'badge-input',
    start() {
      if (badgeInput)
        client.subscribe(
          topics.badge,
          inbound.guarded((_topic, payload) => handleBadge(payload)),
        );
    },
  };
}
