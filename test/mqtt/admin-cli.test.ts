/**
 * `facegate admin send` against a kiosk on a real Mosquitto: exit 0 with the result when accepted, 2 when refused;
 * `facegate admin sign` binds what it signs to one kiosk.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MqttModule } from '../../src/mqtt/module.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, Inbox, observer, startConnected, TEST_SECRET, testMqttConfig } from '../helpers/mqtt-fixtures.ts';
import { repoRoot } from '../helpers/shared.ts';

let broker: TestBroker;
let mod: MqttModule;

before(async () => {
  broker = await startTestBroker();
  const daemon = await fakeDaemon('cli-door');
  mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
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

test('admin sign requires --kiosk, and what it signs is refused by any other kiosk', async () => {
  const unbound = await admin(TEST_SECRET, 'sign', 'unlock', '{"reason":"delivery"}');
  assert.notEqual(unbound.status, 0);
  assert.match(unbound.stderr, /required option '--kiosk <id>' not specified/);
  assert.equal(unbound.stdout, '', 'nothing signed');
  const signed = await admin(TEST_SECRET, 'sign', 'stats', '--kiosk', 'cli-door');
  assert.equal(signed.status, 0, signed.stderr);
  const payload = JSON.parse(signed.stdout) as Record<string, unknown>;
  assert.equal(payload.kiosk, 'cli-door');
  // The same signed text published to another kiosk's topic.
  const other = await fakeDaemon('cli-other-door');
  const otherMod = await startConnected(other.ctx, testMqttConfig(broker.url, broker.protocolVersion));
  const watcher = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/+/cmd/stats/result']);
  try {
    const inbox = new Inbox(watcher);
    await watcher.publishAsync('facegate/cli-other-door/cmd/stats', signed.stdout.trim(), { qos: 1 });
    const replayed = await inbox.result('facegate/cli-other-door', 'stats', String(payload.requestId));
    assert.match(String(replayed.error), /^rejected: signed for another kiosk/);
    await watcher.publishAsync('facegate/cli-door/cmd/stats', signed.stdout.trim(), { qos: 1 });
    const accepted = await inbox.result('facegate/cli-door', 'stats', String(payload.requestId));
    assert.equal(accepted.ok, true);
  } finally {
    await otherMod.stop();
    await watcher.endAsync();
  }
});
