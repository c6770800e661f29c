/**
 * Fleet sync: several doors, one identity set, with the broker as the distributed engine. Each identity (or
 * tombstone) is a retained record on `<fleet>/identities/<id>`, versioned, signed like commands and encrypted
 * with AES-256-GCM under a key derived (HKDF) from the site secret, because it carries face encodings.
 * Rules: a record replaces the local copy only when newer (version, then tombstone over identity, then the
 * larger content digest, so every kiosk picks the same winner); a kiosk that receives an older record republishes
 * its own, so the retained copy converges too. Local changes made while offline (or by the CLI while the daemon
 * was stopped) are found by comparing with the last published state, persisted in the data dir.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DaemonContext } from '../daemon/module.ts';
import { type Identity, identitySchema, type Tombstone, tombstoneSchema } from '../store/schema.ts';
import { canonicalJson, signatureValid, signPayload } from './auth.ts';
import { buildFleetTopics, type FleetTopics } from './topics.ts';

type FleetRecord = { kind: 'identity'; identity: Identity } | { kind: 'tombstone'; tombstone: Tombstone };

interface RecordKey {
  kind: FleetRecord['kind'];
  version: number;
  digest: string;
}

export interface FleetOptions {
  prefix: string;
  secret: string;
  kioskId: string;
  logger: Logger;
}

export type FleetPublish = (topic: string, payload: string, done: (err?: Error) => void) => void;

export function fleetKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'facegate-fleet', 'identities aes-256-gcm v1', 32));
}

function keyOf(record: FleetRecord): RecordKey {
  const body = record.kind === 'identity' ? record.identity : record.tombstone;
  return {
    kind: record.kind,
    version: body.version,
    digest: createHash('sha256').update(canonicalJson(body)).digest('hex'),
  };
}

/** >0 when a wins. Deterministic, so two kiosks holding different records agree on the winner. */
export function compareRecords(a: RecordKey, b: RecordKey): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.kind !== b.kind) return a.kind === 'tombstone' ? 1 : -1;
  return a.digest === b.digest ? 0 : a.digest > b.digest ? 1 : -1;
}

function keyString(k: RecordKey): string {
  return `${k.kind}:${k.version}:${k.digest}`;
}

export class FleetSync {
  readonly topics: FleetTopics;
  private readonly ctx: DaemonContext;
  private readonly opts: FleetOptions;
  private readonly key: Buffer;
  private readonly stateFile: string;
  /** id → key of the record last known to be on the broker (published by us or received). */
  private published: Record<string, string> = {};
  private readonly dirty = new Set<string>();
  private readonly publishing = new Set<string>();
  /** Ids being written from a received record: their db change must not be republished as ours. */
  private readonly applying = new Set<string>();
  private publish: FleetPublish | null = null;
  private unsubscribeDb: (() => void) | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private work: Promise<void> = Promise.resolve();
  applied = 0;
  rejected = 0;

  constructor(ctx: DaemonContext, opts: FleetOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.key = fleetKey(opts.secret);
    this.topics = buildFleetTopics(opts.prefix);
    this.stateFile = path.join(ctx.dataDir, 'mqtt-fleet-state.json');
  }

  start(): void {
    try {
      this.published = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Record<string, string>;
    } catch {
      this.published = {};
    }
    for (const record of this.localRecords()) {
      const id = record.kind === 'identity' ? record.identity.id : record.tombstone.id;
      if (this.published[id] !== keyString(keyOf(record))) this.dirty.add(id);
    }
    this.unsubscribeDb = this.ctx.db.onChange((id) => {
      if (this.applying.has(id)) return;
      this.dirty.add(id);
      this.flush();
    });
  }

  /** Called on every (re)connect, after the subscription is in place. */
  connected(publish: FleetPublish): void {
    this.publish = publish;
    this.flush();
  }

  disconnected(): void {
    this.publish = null;
    this.publishing.clear();
  }

  async stop(): Promise<void> {
    this.unsubscribeDb?.();
    this.publish = null;
    await this.work;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    await this.save();
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Handles a message on the fleet topic; records are applied one at a time, in arrival order. */
  handle(topic: string, payload: Buffer): void {
    const id = this.topics.idOf(topic);
    if (id === null || payload.length === 0) return;
    this.work = this.work
      .then(() => this.receive(id, payload))
      .catch((err) => {
        this.opts.logger.warn({ event: 'fleet', err: String(err) }, 'fleet record not applied');
      });
  }

  private localRecord(id: string): FleetRecord | null {
    const identity = this.ctx.db.get(id);
    if (identity) return { kind: 'identity', identity };
    const tombstone = this.ctx.db.tombstones().find((t) => t.id === id);
    return tombstone ? { kind: 'tombstone', tombstone } : null;
  }

  private localRecords(): FleetRecord[] {
    return [
      ...this.ctx.db.list().map((identity): FleetRecord => ({ kind: 'identity', identity })),
      ...this.ctx.db.tombstones().map((tombstone): FleetRecord => ({ kind: 'tombstone', tombstone })),
    ];
  }

  private encode(record: FleetRecord): string {
    const body = record.kind === 'identity' ? record.identity : record.tombstone;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${body.id}\n${record.kind}\n${body.version}`));
    const data = Buffer.concat([cipher.update(JSON.stringify(record)), cipher.final(), cipher.getAuthTag()]);
    const envelope = {
      v: 1,
      id: body.id,
      kind: record.kind,
      version: body.version,
      origin: this.opts.kioskId,
      ts: Date.now(),
      iv: iv.toString('base64'),
      data: data.toString('base64'),
    };
    return JSON.stringify(signPayload(envelope, { secret: this.opts.secret }));
  }

  /** Envelope → record, or a reason it is refused (bad signature, tampered, wrong topic). */
  decode(id: string, payload: Buffer): FleetRecord | string {
    let envelope: Record<string, unknown>;
    try {
      envelope = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return 'not JSON';
    }
    if (typeof envelope !== 'object' || envelope === null) return 'not an object';
    if (!signatureValid(envelope, this.opts.secret, [])) return 'bad signature';
    const { kind, version, iv, data } = envelope;
    if (envelope.id !== id || (kind !== 'identity' && kind !== 'tombstone') || typeof version !== 'number')
      return 'malformed envelope';
    if (typeof iv !== 'string' || typeof data !== 'string') return 'malformed envelope';
    let record: unknown;
    try {
      const bytes = Buffer.from(data, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(`${id}\n${kind}\n${version}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
      record = JSON.parse(plain.toString('utf8'));
    } catch {
      return 'cannot decrypt';
    }
    const r = record as { kind?: unknown; identity?: unknown; tombstone?: unknown };
    if (r.kind === 'identity') {
      const parsed = identitySchema.safeParse(r.identity);
      if (!parsed.success || parsed.data.id !== id || parsed.data.version !== version) return 'invalid identity';
      return { kind: 'identity', identity: parsed.data };
    }
    if (r.kind === 'tombstone') {
      const parsed = tombstoneSchema.safeParse(r.tombstone);
      if (!parsed.success || parsed.data.id !== id || parsed.data.version !== version) return 'invalid tombstone';
      return { kind: 'tombstone', tombstone: parsed.data };
    }
    return 'unknown record kind';
  }

  private async receive(id: string, payload: Buffer): Promise<void> {
    const remote = this.decode(id, payload);
    if (typeof remote === 'string') {
      this.rejected += 1;
      this.opts.logger.warn({ event: 'fleet', reason: remote }, 'fleet record refused');
      // Someone overwrote the retained record with junk: put ours back so late joiners still find it.
      if (this.localRecord(id)) {
        this.dirty.add(id);
        this.flush();
      }
      return;
    }
    const remoteKey = keyOf(remote);
    const local = this.localRecord(id);
    const order = local ? compareRecords(remoteKey, keyOf(local)) : 1;
    if (order > 0) {
      this.applying.add(id);
      try {
        if (remote.kind === 'identity') await this.ctx.db.put(remote.identity);
        else await this.ctx.db.putTombstone(remote.tombstone);
      } finally {
        this.applying.delete(id);
      }
      this.dirty.delete(id);
      this.applied += 1;
      this.opts.logger.info({ event: 'fleet', kind: remote.kind, version: remoteKey.version }, 'fleet record applied');
    } else if (order < 0) {
      // The broker holds an older record than ours: republish, so late joiners converge on the same winner.
      this.dirty.add(id);
      this.flush();
      return;
    }
    this.published[id] = keyString(remoteKey);
    this.scheduleSave();
  }

  private flush(): void {
    const publish = this.publish;
    if (!publish) return;
    for (const id of [...this.dirty]) {
      if (this.publishing.has(id)) continue;
      const record = this.localRecord(id);
      if (!record) {
        this.dirty.delete(id);
        continue;
      }
      const key = keyString(keyOf(record));
      this.publishing.add(id);
      this.dirty.delete(id);
      publish(this.topics.identity(id), this.encode(record), (err) => {
        this.publishing.delete(id);
        if (err) {
          this.dirty.add(id);
          return;
        }
        this.published[id] = key;
        this.scheduleSave();
        // Changed again while in flight: send the newer one.
        const now = this.localRecord(id);
        if (now && keyString(keyOf(now)) !== key) {
          this.dirty.add(id);
          this.flush();
        }
      });
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.save().catch((err) => this.opts.logger.warn({ event: 'fleet', err: String(err) }, 'fleet state not saved'));
    }, 200);
  }

  private async save(): Promise<void> {
    const tmp = `${this.stateFile}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(this.published));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.stateFile);
  }
}
