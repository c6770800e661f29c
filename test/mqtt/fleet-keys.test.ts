/**
 * Key separation between commands and fleet records: a fleet signature never verifies as a command and a command
 * signature (HMAC admin secret or Ed25519 admin key) never as a fleet record, in both directions, even when an admin
 * reuses one secret for both or relabels the signature's prefix; a kiosk verifies commands with Ed25519 public keys
 * alone; the config refuses fleet sync without its own secret, or with the admin secret.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseMqttConfig } from '../../src/config/sections/mqtt.ts';
import { CommandVerifier, signCommand, signPayload } from '../../src/mqtt/auth.ts';
import { decodeRecord, encodeRecord, fleetKeys, signFleet } from '../../src/mqtt/fleet-record.ts';
import { NonceStore } from '../../src/mqtt/nonce-store.ts';
import type { DbRecord } from '../../src/store/schema.ts';
import { facegate } from '../helpers/cli.ts';

const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const FLEET_SECRET = 'fleet-secret-0123456789abcdef';
const admin = generateKeyPairSync('ed25519');
let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-keys-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const tombstone: DbRecord = {
  kind: 'tombstone',
  tombstone: { id: 'kian', epoch: 0, version: 3, deletedAt: '2025-01-01T00:00:00.000Z' },
};

async function verifier(opts: { secret?: string; ed25519?: boolean }): Promise<CommandVerifier> {
  return new CommandVerifier({
    secret: opts.secret,
    publicKeys: opts.ed25519 ? [admin.publicKey] : [],
    windowMs: 60_000,
    kioskId: 'door-1',
    nonces: await NonceStore.open(path.join(dir, randomUUID()), 60_000),
  });
}

const unlock = () => ({ cmd: 'unlock', ts: Date.now(), nonce: randomUUID(), kiosk: 'door-1' });

test('a fleet signature never verifies as a command, even with one secret for both or a relabelled prefix', async () => {
  for (const secret of [ADMIN_SECRET, FLEET_SECRET]) {
    const commands = await verifier({ secret, ed25519: true });
    const signed = signFleet(unlock(), fleetKeys(FLEET_SECRET));
    assert.deepEqual(await commands.verify('unlock', signed), { ok: false, reason: 'bad signature' });
    const relabelled = { ...signed, sig: String(signed.sig).replace(/^fleet-hmac-sha256:/, 'hmac-sha256:') };
    assert.deepEqual(await commands.verify('unlock', relabelled), { ok: false, reason: 'bad signature' });
    // The check above could fail for another reason: the same payload signed as a command passes.
    const honest = signCommand('unlock', {}, { secret }, { kiosk: 'door-1' });
    assert.equal((await commands.verify('unlock', honest)).ok, true);
  }
});

test('no command key signs a fleet record: admin HMAC (same secret or not), admin Ed25519, relabelled prefix', () => {
  const keys = fleetKeys(FLEET_SECRET);
  const genuine = JSON.parse(encodeRecord(tombstone, keys, 'door-1')) as Record<string, unknown>;
  assert.deepEqual(decodeRecord(Buffer.from(JSON.stringify(genuine)), keys), tombstone);
  const { sig: _sig, ...unsigned } = genuine;
  const attempts = [
    signPayload(unsigned, { secret: ADMIN_SECRET }),
    signPayload(unsigned, { secret: FLEET_SECRET }),
    signPayload(unsigned, { privateKey: admin.privateKey }),
  ];
  for (const forged of attempts) {
    assert.equal(decodeRecord(Buffer.from(JSON.stringify(forged)), keys), 'bad signature');
    const relabelled = { ...forged, sig: String(forged.sig).replace(/^hmac-sha256:/, 'fleet-hmac-sha256:') };
    assert.equal(decodeRecord(Buffer.from(JSON.stringify(relabelled)), keys), 'bad signature');
  }
});

test('commands verify with Ed25519 public keys alone: no secret on the kiosk, and HMAC commands are refused', async () => {
  const commands = await verifier({ ed25519: true });
  assert.equal(commands.configured, true);
  const byKey = signCommand('unlock', {}, { privateKey: admin.privateKey }, { kiosk: 'door-1' });
  assert.deepEqual(await commands.verify('unlock', byKey), { ok: true, signer: 'ed25519' });
  for (const secret of [ADMIN_SECRET, FLEET_SECRET]) {
    const byHmac = signCommand('unlock', {}, { secret }, { kiosk: 'door-1' });
    assert.deepEqual(await commands.verify('unlock', byHmac), { ok: false, reason: 'bad signature' });
  }
});

test('the config refuses fleet sync without its own secret, or with the admin secret; the secret may come from the environment', () => {
  assert.throws(() => parseMqttConfig({ fleet: { enabled: true } }, {}), /fleet sync needs its own secret/);
  assert.throws(
    () => parseMqttConfig({ adminSecret: ADMIN_SECRET, fleet: { enabled: true, secret: ADMIN_SECRET } }, {}),
    /must differ from adminSecret/,
  );
  const fromEnv = parseMqttConfig({ fleet: { enabled: true } }, { FACEGATE_FLEET_SECRET: FLEET_SECRET });
  assert.equal(fromEnv.fleet.secret, FLEET_SECRET);
  assert.equal(fromEnv.adminSecret, undefined);
});

test('`facegate admin keygen --fleet` prints a fresh 256-bit fleet secret the config accepts', async () => {
  const [one, two] = await Promise.all([
    facegate(['admin', 'keygen', '--fleet']),
    facegate(['admin', 'keygen', '--fleet']),
  ]);
  assert.equal(one.code, 0, one.stderr);
  const secret = one.stdout.trim();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(secret, two.stdout.trim());
  assert.equal(parseMqttConfig({ fleet: { enabled: true, secret } }, {}).fleet.secret, secret);
});
