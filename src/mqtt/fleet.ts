/**
 * Fleet sync: several doors, one identity set, with the broker as the distributed engine. Each id has exactly one
 * topic, `<fleet>/identities/<level>` (level = the id's canonical encoding, src/mqtt/topics.ts), holding its
 * retained record (identity or tombstone) in the envelope of src/mqtt/fleet-record.ts; every tombstone is also kept
 * retained on `<fleet>/tombstones/<level>`.
 *
 * Rules, each against a reproduced attack (test/mqtt/fleet-attacks.test.ts):
 * - a record is accepted only on the canonical topic of the id inside its signed data (raw level compared, nothing
 *   decoded), so an old record parked on an alias topic (`ki%61n` for `kian`) is refused;
 * - on connect, tombstones are subscribed first and a marker published to ourselves tells when their retained
 *   messages have all arrived (brokers deliver one connection's messages in order); only then are identity records
 *   subscribed, so a kiosk with an empty database applies every known deletion before it sees any old record;
 * - a second marker ends the identity records' retained burst: a record this kiosk holds whose topic was empty
 *   (someone published an empty retained message while we were away) is republished, as is one answered with an
 *   empty message while we are connected, or with an older or refused record;
 * - the winner of two records is decided by deletion epoch, then version (fleet-record.ts), so a deletion beats an
 *   edit made during a partition.
 * Local changes made while offline (or by the CLI while the daemon was stopped) are found by comparing with the
 * last published state, persisted in the data dir.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DaemonContext } from '../bus/module.ts';
import type { DbRecord } from '../store/schema.ts';
import type { MqttTransport } from './client.ts';
import {
  compareRanks,
  decodeRecord,
  encodeRecord,
  type FleetKeys,
  fleetKeys,
  rankOf,
  rankString,
  recordId,
} from './fleet-record.ts';
import { buildFleetTopics, type FleetTopics } from './topics.ts';

export interface FleetOptions {
  prefix: string;
  /** The fleet secret (never the admin secret): signs and encrypts records. */
  secret: string;
  kioskId: string;
  logger: Logger;
  /** How long to wait for our own sync marker before going on without it (a broker ACL may drop it). */
  markerTimeoutMs?: number;
}

/** What fleet sync needs of the MQTT client. */
export interface FleetIo {
  subscribe(filters: string[], done: (err?: Error) => void): void;
  publish(topic: string, payload: string, retain: boolean, done: (err?: Error) => void): void;
}

export function mqttFleetIo(client: MqttTransport): FleetIo {
  return {
    subscribe: (filters, done) => client.subscribeNow(filters, done),
    publish: (topic, payload, retain, done) => client.publish(topic, payload, { qos: 1, retain }, done),
  };
}

type Phase = 'offline' | 'tombstones' | 'identities' | 'live';

export class FleetSync {
  readonly topics: FleetTopics;
  private readonly ctx: DaemonContext;
  private readonly opts: FleetOptions;
  private readonly keys: FleetKeys;
  private readonly stateFile: string;
  private readonly syncTopic: string;
  /** id → rank of the record last known to be on the broker (published by us or received). */
  private published: Record<string, string> = {};
  private readonly dirty = new Set<string>();
  private readonly publishing = new Set<string>();
  /** Ids being written from a received record: their db change must not be republished as ours. */
  private readonly applying = new Set<string>();
  /**
   * Topics (`identities/<level>`, `tombstones/<level>`) where we hold a record and expect a retained copy this
   * connection, → the id. Bounded by the database, whatever arrives on the broker; what is left when the retained
   * burst ended was empty there.
   */
  private readonly expected = new Map<string, string>();
  /** When a refused record last made us republish an id: old-format kiosks during an upgrade would ping-pong. */
  private readonly repairedAt = new Map<string, number>();
  private io: FleetIo | null = null;
  private phase: Phase = 'offline';
  private marker: { token: string; next: () => void; timer: NodeJS.Timeout } | null = null;
  private unsubscribeDb: (() => void) | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private work: Promise<void> = Promise.resolve();
  private saving: Promise<void> = Promise.resolve();
  applied = 0;
  rejected = 0;

  constructor(ctx: DaemonContext, opts: FleetOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.keys = fleetKeys(opts.secret);
    this.topics = buildFleetTopics(opts.prefix);
    this.syncTopic = this.topics.sync(opts.kioskId);
    this.stateFile = path.join(ctx.dataDir, 'mqtt-fleet-state.json');
  }

  start(): void {
    try {
      this.published = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Record<string, string>;
    } catch {
      this.published = {};
    }
    for (const record of this.localRecords()) {
      const id = recordId(record);
      if (this.published[id] !== rankString(rankOf(record))) this.dirty.add(id);
    }
    this.unsubscribeDb = this.ctx.db.onChange((id) => {
      if (this.applying.has(id)) return;
      this.dirty.add(id);
      this.flush();
    });
  }

  /** Whether a message on `topic` is for fleet sync. */
  owns(topic: string): boolean {
    return this.topics.parse(topic) !== null;
  }

  /** Called on every (re)connect: tombstones first, then identity records, then our own changes. */
  connected(io: FleetIo): void {
    this.io = io;
    this.expected.clear();
    for (const t of this.ctx.db.tombstones()) this.expect('tombstones', t.id);
    this.phase = 'tombstones';
    io.subscribe([this.syncTopic, this.topics.tombstoneFilter], (err) => {
      if (err) this.opts.logger.error({ event: 'fleet', err: err.message }, 'fleet subscribe failed');
      this.afterRetained(io, () => {
        this.phase = 'identities';
        for (const record of this.localRecords()) this.expect('identities', recordId(record));
        io.subscribe([this.topics.identityFilter], (err2) => {
          if (err2) this.opts.logger.error({ event: 'fleet', err: err2.message }, 'fleet subscribe failed');
          this.afterRetained(io, () => {
            this.phase = 'live';
            this.repairEmptyTopics();
            this.flush();
          });
        });
      });
    });
  }

  disconnected(): void {
    this.io = null;
    this.phase = 'offline';
    this.publishing.clear();
    if (this.marker) clearTimeout(this.marker.timer);
    this.marker = null;
  }

  async stop(): Promise<void> {
    this.unsubscribeDb?.();
    this.disconnected();
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

  /** Handles a message on a fleet topic; records are applied one at a time, in arrival order. */
  handle(topic: string, payload: Buffer): void {
    const where = this.topics.parse(topic);
    if (where === null) return;
    if (where.kind === 'sync') {
      if (topic === this.syncTopic) this.markerArrived(payload.toString('utf8'));
      return;
    }
    if (payload.length > 0) this.expected.delete(`${where.kind}/${where.level}`);
    this.enqueue(() => (payload.length === 0 ? this.emptied(where.kind, where.level) : this.receive(where, payload)));
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.work = this.work
      .then(task)
      .catch((err) => this.opts.logger.warn({ event: 'fleet', err: String(err) }, 'fleet record not applied'));
  }

  /** Runs `next` once every message the broker sent before our marker has been handled. */
  private afterRetained(io: FleetIo, next: () => void): void {
    if (this.io !== io) return;
    const token = randomBytes(12).toString('hex');
    const timeoutMs = this.opts.markerTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      this.opts.logger.warn(
        { event: 'fleet', topic: this.syncTopic },
        `fleet sync marker not received within ${timeoutMs} ms (does the broker ACL let this kiosk publish and ` +
          `read ${this.syncTopic}?); going on`,
      );
      this.markerArrived(token);
    }, timeoutMs);
    timer.unref();
    this.marker = {
      token,
      next: () => {
        if (this.io === io) next();
      },
      timer,
    };
    io.publish(this.syncTopic, token, false, () => undefined);
  }

  private markerArrived(token: string): void {
    const marker = this.marker;
    if (!marker || marker.token !== token) return;
    clearTimeout(marker.timer);
    this.marker = null;
    this.enqueue(marker.next);
  }

  private localRecords(): DbRecord[] {
    return [
      ...this.ctx.db.list().map((identity): DbRecord => ({ kind: 'identity', identity })),
      ...this.ctx.db.tombstones().map((tombstone): DbRecord => ({ kind: 'tombstone', tombstone })),
    ];
  }

  /** Our record for a raw topic level, if the level is the canonical one of an id we hold. */
  private localAt(level: string): DbRecord | null {
    let id: string;
    try {
      id = decodeURIComponent(level);
    } catch {
      return null;
    }
    return this.topics.level(id) === level ? this.ctx.db.record(id) : null;
  }

  private republish(id: string): void {
    this.dirty.add(id);
    this.flush();
  }

  /** An empty retained message erased a topic: put back what we hold there. */
  private emptied(kind: 'identities' | 'tombstones', level: string): void {
    const local = this.localAt(level);
    if (local && (kind === 'identities' || local.kind === 'tombstone')) this.republish(recordId(local));
  }

  private expect(kind: 'identities' | 'tombstones', id: string): void {
    const level = this.topics.level(id);
    if (level !== null) this.expected.set(`${kind}/${level}`, id);
  }

  /** After the retained records arrived: whatever we hold that was missing on the broker goes back. */
  private repairEmptyTopics(): void {
    for (const id of this.expected.values()) this.dirty.add(id);
    this.expected.clear();
  }

  private refuse(reason: string, level: string): void {
    this.rejected += 1;
    this.opts.logger.warn({ event: 'fleet', reason, level: level.slice(0, 200) }, 'fleet record refused');
  }

  private async receive(where: { kind: 'identities' | 'tombstones'; level: string }, payload: Buffer): Promise<void> {
    const remote = decodeRecord(payload, this.keys);
    if (typeof remote === 'string') {
      this.refuse(remote, where.level);
      // Someone overwrote the retained record with junk: put ours back so late joiners still find it (at most every
      // 10 s per id: a kiosk still on the old record format refuses ours too, and would answer in kind).
      const local = this.localAt(where.level);
      const id = local ? recordId(local) : null;
      if (id !== null && Date.now() - (this.repairedAt.get(id) ?? 0) > 10_000) {
        this.repairedAt.set(id, Date.now());
        this.republish(id);
      }
      return;
    }
    const id = recordId(remote);
    if (this.topics.level(id) !== where.level) return this.refuse('not on its canonical topic', where.level);
    if (where.kind === 'tombstones' && remote.kind !== 'tombstone')
      return this.refuse('not a tombstone on the tombstone topic', where.level);
    const remoteRank = rankOf(remote);
    this.applying.add(id);
    let stored: boolean;
    try {
      stored = await this.ctx.db.applyRecord(
        remote,
        (current) => current === null || compareRanks(remoteRank, rankOf(current)) > 0,
      );
    } finally {
      this.applying.delete(id);
    }
    if (stored) {
      this.dirty.delete(id);
      this.applied += 1;
      this.opts.logger.info(
        { event: 'fleet', kind: remote.kind, epoch: remoteRank.epoch, version: remoteRank.version },
        'fleet record applied',
      );
    } else {
      const local = this.ctx.db.record(id);
      // The broker holds an older record than ours: republish, so late joiners converge on the same winner (an old
      // tombstone left on the tombstone topic under a re-enrolled identity is harmless: the identity beats it).
      if (local && compareRanks(rankOf(local), remoteRank) > 0) {
        if (where.kind === 'identities' || local.kind === 'tombstone') this.republish(id);
        return;
      }
    }
    this.published[id] = rankString(remoteRank);
    this.scheduleSave();
  }

  private flush(): void {
    const io = this.io;
    if (!io || this.phase !== 'live') return;
    for (const id of [...this.dirty]) {
      if (this.publishing.has(id)) continue;
      this.dirty.delete(id);
      const record = this.ctx.db.record(id);
      const level = this.topics.level(id);
      if (!record || level === null) continue;
      const rank = rankString(rankOf(record));
      const payload = encodeRecord(record, this.keys, this.opts.kioskId);
      const topics = [this.topics.identity(level)];
      if (record.kind === 'tombstone') topics.push(this.topics.tombstone(level));
      this.publishing.add(id);
      let left = topics.length;
      let failed = false;
      const done = (err?: Error) => {
        failed ||= err !== undefined;
        left -= 1;
        if (left > 0) return;
        this.publishing.delete(id);
        if (failed) {
          this.dirty.add(id);
          return;
        }
        this.published[id] = rank;
        this.scheduleSave();
        // Changed again, or asked for again (a topic emptied meanwhile), while in flight: send it again.
        const now = this.ctx.db.record(id);
        if (this.dirty.has(id) || (now && rankString(rankOf(now)) !== rank)) this.republish(id);
      };
      for (const topic of topics) io.publish(topic, payload, true, done);
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.save().catch((err) => this.opts.logger.warn({ event: 'fleet', err: String(err) }, 'fleet state not saved'));
    }, 200);
  }

  /** Saves run one after another: a timed save and the one at stop() must not share the temp file at once. */
  private save(): Promise<void> {
    const next = this.saving.then(() => this.writeState());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async writeState(): Promise<void> {
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
