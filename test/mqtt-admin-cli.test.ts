/** `facegate admin send` against a kiosk on a real Mosquitto: exit 0 with the result when accepted, 2 when refused. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createMqttModule, type MqttModule } from '../src/mqtt/module.ts';
import { startTestBroker, type TestBroker } from './helpers/mosquitto.ts';
import { fakeDaemon, TEST_SECRET, testMqttConfig, waitFor } from './helpers/mqtt-fixtures.ts';
import { repoRoot } from './helpers/shared.ts';

let broker: TestBroker;
let mod: MqttModule;

before(async () => {
  broker = await startTestBroker();
  const daemon = await fakeDaemon('cli-door');
  mod = createMqttModule(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
  await mod.start();
  await waitFor('connected', () => (mod.connected ? true : undefined));
});
after(async () => {
  await mod?.stop();
  await broker?.close();
});

/** Async, so the module in this process keeps answering while the CLI runs. */
function admin(secret: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'facegate.js'), 'admin', ...args], {
    env: { ...process.env, FACEGATE_ADMIN_SECRET: secret },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

test('admin send stats → exit 0 and the result; a wrong secret → exit 2 and a refusal', async () => {
  const protocol = String(broker.protocolVersion);
  const ok = await admin(
    TEST_SECRET,
    'send',
    'stats',
    '--mqtt',
    broker.url,
    '--kiosk-id',
    'cli-door',
    '--protocol',
    protocol,
  );
  assert.equal(ok.status, 0, ok.stderr);
  const result = JSON.parse(ok.stdout) as { ok: boolean; kiosk: string };
  assert.equal(result.ok, true);
  assert.equal(result.kiosk, 'cli-door');
  const refused = await admin(
    'wrong-secret-wrong-secret',
    'send',
    'unlock',
    '--mqtt',
    broker.url,
    '--kiosk-id',
    'cli-door',
    '--protocol',
    protocol,
  );
  assert.equal(refused.status, 2);
  assert.match(refused.stdout, /rejected: bad signature/);
  const noBroker = await admin(
    TEST_SECRET,
    'send',
    'stats',
    '--mqtt',
    'mqtt://127.0.0.1:1',
    '--kiosk-id',
    'x',
    '--timeout',
    '3000',
  );
  assert.equal(noBroker.status, 2);
  assert.match(noBroker.stderr, /^facegate: cannot connect/);
});
