/**
 * No broker configured → the module starts aedes on 127.0.0.1 and works through it; Home Assistant discovery
 * configs are retained there, and HA's unlock is ignored unless explicitly allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { mqttConfigSchema } from '../../src/config/sections/mqtt.ts';
import { createMqttModule } from '../../src/mqtt/module.ts';
import { fakeDaemon, Inbox, TEST_SECRET, waitFor } from '../helpers/mqtt-fixtures.ts';

for (const allowRemoteUnlock of [false, true]) {
  test(`embedded broker + HA discovery (allowRemoteUnlock: ${allowRemoteUnlock})`, async (t) => {
    const daemon = await fakeDaemon('standalone');
    const unlocks: string[] = [];
    daemon.ctx.bus.on('unlockRequest', (u) => unlocks.push(u.by));
    const config = mqttConfigSchema.parse({
      adminSecret: TEST_SECRET,
      embeddedBroker: { port: 0 },
      homeAssistant: { enabled: true, allowRemoteUnlock },
    });
    const mod = createMqttModule(daemon.ctx, config);
    await mod.start();
    try {
      assert.match(String(mod.url), /^mqtt:\/\/127\.0\.0\.1:\d+$/);
      await waitFor('connected', () => (mod.connected ? true : undefined));
      daemon.ctx.bus.emit('doorState', { state: 'locked', time: new Date().toISOString() });
      const client = await mqtt.connectAsync(String(mod.url), { protocolVersion: 4 });
      t.after(() => client.endAsync(true));
      const inbox = new Inbox(client);
      await client.subscribeAsync(['homeassistant/#', 'facegate/standalone/#'], { qos: 1 });
      // The lock state entity: a `lock` (with its command topic) only when HA may unlock, else a read-only sensor.
      const lockTopic = allowRemoteUnlock
        ? 'homeassistant/lock/facegate_standalone/door_lock/config'
        : 'homeassistant/binary_sensor/facegate_standalone/lock_state/config';
      const lock = await waitFor('lock config', () => inbox.json(lockTopic)[0]);
      assert.equal(lock.state_topic, 'facegate/standalone/lock/state');
      assert.equal(lock.command_topic, allowRemoteUnlock ? 'facegate/standalone/ha/lock/set' : undefined);
      assert.equal(lock.availability_topic, 'facegate/standalone/status');
      for (const t of [
        'binary_sensor/facegate_standalone/alarm',
        'sensor/facegate_standalone/last_access',
        'event/facegate_standalone/access',
      ]) {
        await waitFor(t, () => inbox.json(`homeassistant/${t}/config`)[0]);
      }
      await waitFor('lock state', () => inbox.on('facegate/standalone/lock/state').find((m) => m.text === 'LOCKED'));
      await waitFor('status', () => inbox.on('facegate/standalone/status').find((m) => m.text === 'online'));
      await waitFor('door', () => inbox.on('facegate/standalone/door/state').find((m) => m.text === 'locked'));
      await client.publishAsync('facegate/standalone/ha/lock/set', 'UNLOCK', { qos: 1 });
      // A signed stats round trip proves the unlock message has been handled (same connection, in order).
      const { signCommand } = await import('../../src/mqtt/auth.ts');
      await client.publishAsync(
        'facegate/standalone/cmd/stats',
        JSON.stringify(signCommand('stats', { requestId: 'r1' }, { secret: TEST_SECRET }, { kiosk: 'standalone' })),
        { qos: 1 },
      );
      await inbox.result('facegate/standalone', 'stats', 'r1');
      assert.deepEqual(unlocks, allowRemoteUnlock ? ['home-assistant'] : []);
      await client.endAsync();
    } finally {
      await mod.stop();
    }
  });
}
