/**
 * A kiosk process for the kill tests: the MQTT module with a fake daemon context, optionally emitting a burst
 * of access events. Settings come from FACEGATE_CHILD (JSON). Prints `ready` once connected, `burst-done` after.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createMqttModule } from '../../src/mqtt/module.ts';
import { accessEvent, fakeDaemon, testMqttConfig } from './mqtt-fixtures.ts';

interface ChildSettings {
  url: string;
  protocolVersion: 4 | 5;
  dir: string;
  kioskId: string;
  burstFrom?: number;
  burstTo?: number;
  burstDelayMs?: number;
}

const settings = JSON.parse(process.env.FACEGATE_CHILD ?? '{}') as ChildSettings;
const daemon = await fakeDaemon(settings.kioskId, settings.dir);
const mod = createMqttModule(daemon.ctx, testMqttConfig(settings.url, settings.protocolVersion));
await mod.start();
while (!mod.connected) await sleep(20);
process.stdout.write('ready\n');
if (settings.burstFrom !== undefined && settings.burstTo !== undefined) {
  for (let seq = settings.burstFrom; seq < settings.burstTo; seq += 1) {
    daemon.ctx.bus.emit('access', accessEvent(seq));
    await sleep(settings.burstDelayMs ?? 0);
  }
  process.stdout.write('burst-done\n');
}
process.on('SIGTERM', () => {
  mod.stop().then(() => process.exit(0));
});
