/**
 * No broker configured, but one already answers MQTT where the embedded one would listen: the module uses it (a
 * real Mosquitto on a free port stands in for the system's on 1883) and says so; `useExisting: false` still starts
 * ours. The probe says no to a closed port and to a socket that does not speak MQTT.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { mqttConfigSchema } from '../../src/config/sections/mqtt.ts';
import { probeMqttBroker } from '../../src/mqtt/broker-probe.ts';
import { createMqttModule } from '../../src/mqtt/module.ts';
import { freePort, hasMosquitto, startTestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, TEST_SECRET, waitFor } from '../helpers/mqtt-fixtures.ts';

const skipUnlessMosquitto = hasMosquitto ? false : 'mosquitto not installed (Debian package mosquitto)';

test('the probe: yes to a broker, no to a closed port or a silent socket', { skip: skipUnlessMosquitto }, async (t) => {
  const broker = await startTestBroker();
  t.after(() => broker.close());
  assert.equal(await probeMqttBroker('127.0.0.1', broker.port), true);
  assert.equal(await probeMqttBroker('127.0.0.1', await freePort()), false);
  const accepted: Socket[] = [];
  const silent = createServer((socket) => {
    accepted.push(socket.on('error', () => undefined));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of accepted) socket.destroy();
    silent.close();
  });
  const address = silent.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  assert.equal(await probeMqttBroker('127.0.0.1', port, 300), false);
});

for (const useExisting of [true, false]) {
  test(`a broker already on the embedded port (useExisting: ${useExisting})`, {
    skip: skipUnlessMosquitto,
  }, async (t) => {
    const broker = await startTestBroker();
    t.after(() => broker.close());
    const daemon = await fakeDaemon(`probe-${useExisting}`);
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    daemon.ctx.logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const config = mqttConfigSchema.parse({
      adminSecret: TEST_SECRET,
      embeddedBroker: { host: '127.0.0.1', port: broker.port, useExisting },
    });
    const mod = createMqttModule(daemon.ctx, config);
    t.after(() => mod.stop());
    await mod.start();
    await waitFor('connected', () => (mod.connected ? true : undefined));
    if (useExisting) {
      assert.equal(mod.url, `mqtt://127.0.0.1:${broker.port}`);
      assert.ok(lines.some((l) => l.existing === true && String(l.msg).includes('already answering')));
      // What the kiosk publishes arrives at that broker.
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
      t.after(() => client.endAsync(true));
      const status = new Promise<string>((resolve) =>
        client.on('message', (topic, payload) => {
          if (topic === `facegate/probe-${useExisting}/status`) resolve(payload.toString());
        }),
      );
      await client.subscribeAsync(`facegate/probe-${useExisting}/status`, { qos: 1 });
      assert.equal(await status, 'online');
    } else {
      assert.notEqual(mod.url, `mqtt://127.0.0.1:${broker.port}`, 'our own broker, on another port');
      assert.ok(lines.some((l) => String(l.msg).startsWith('embedded broker on')));
    }
  });
}
