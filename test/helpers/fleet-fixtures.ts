/**
 * Fleet sync test kit: kiosks (fake daemons with the real MQTT module) on one fleet prefix, enrolment through the
 * real FaceDb, and waiting for two databases to agree. Each test uses its own prefix so retained records of one
 * test never reach another.
 */
import assert from 'node:assert/strict';
import type { MqttConfigInput } from '../../src/config/sections/mqtt.ts';
import { createMqttModule, type MqttModule } from '../../src/mqtt/module.ts';
import type { FaceDb } from '../../src/store/face-db.ts';
import type { Identity } from '../../src/store/schema.ts';
import type { TestBroker } from './mosquitto.ts';
import { FAKE_ENCODER, type FakeDaemon, testMqttConfig, vectorForColour, waitFor } from './mqtt-fixtures.ts';

export const FLEET_SECRET = 'fleet-secret-for-the-tests-0123456789';

export class Fleet {
  readonly running: MqttModule[] = [];
  constructor(
    readonly broker: TestBroker,
    readonly prefix: string,
    readonly extra: Partial<MqttConfigInput> = {},
  ) {}

  async start(daemon: FakeDaemon): Promise<MqttModule> {
    const mod = createMqttModule(
      daemon.ctx,
      testMqttConfig(this.broker.url, this.broker.protocolVersion, {
        fleet: { enabled: true, topic: this.prefix, secret: FLEET_SECRET } as MqttConfigInput['fleet'],
        ...this.extra,
      }),
    );
    await mod.start();
    this.running.push(mod);
    await waitFor('connected', () => (mod.connected ? true : undefined));
    return mod;
  }

  async stop(mod: MqttModule): Promise<void> {
    await mod.stop();
    this.running.splice(this.running.indexOf(mod), 1);
  }

  async stopAll(): Promise<void> {
    for (const mod of this.running.splice(0)) await mod.stop();
  }
}

export async function enroll(db: FaceDb, id: string, rgb: [number, number, number]): Promise<void> {
  await db.upsert({ id, name: id.toUpperCase(), badges: [`${id}-badge`], enabled: true });
  await db.addEncodings(id, [
    {
      vector: vectorForColour(...rgb),
      encoder: FAKE_ENCODER,
      createdAt: new Date().toISOString(),
      quality: null,
      source: 'test',
    },
  ]);
}

export const view = (db: FaceDb) => ({
  identities: [...db.list()].sort((a, b) => a.id.localeCompare(b.id)),
  tombstones: [...db.tombstones()].sort((a, b) => a.id.localeCompare(b.id)),
});

export const summary = (db: FaceDb) =>
  view(db)
    .identities.map((i: Identity) => `${i.id}@${i.version}:${i.name}`)
    .join(',');

export async function converged(a: FaceDb, b: FaceDb, expect: string): Promise<void> {
  await waitFor(
    `converge on ${expect}`,
    () => (summary(a) === expect && summary(b) === expect ? true : undefined),
    30_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}: a=${summary(a)} b=${summary(b)}`);
  });
  assert.deepEqual(view(a), view(b));
}

/** Whether `id` was ever present in `db` from now on (a fleet record applied, even briefly). */
export function everHeld(db: FaceDb, id: string): () => boolean {
  let held = db.get(id) !== undefined;
  db.onChange(() => {
    if (db.get(id)) held = true;
  });
  return () => held;
}
