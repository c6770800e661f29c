/**
 * The local face database: one JSON file of identities and their encodings (lowdb over an atomic adapter).
 * It stores vectors, never photos. Reads are from memory; every change is one serialised atomic write.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { FacegateError } from '../util/errors.ts';
import { AtomicJsonFile, type AtomicJsonFileOptions } from './atomic-file.ts';
import {
  type DbFile,
  dbFileSchema,
  describeZodError,
  emptyDb,
  type Identity,
  type StoredEncoding,
  type Tombstone,
} from './schema.ts';

export const DEFAULT_DB_FILE = 'data/faces.json';

export type IdentityFields = Omit<Identity, 'encodings' | 'version' | 'updatedAt'>;

type ChangeListener = (id: string, change: 'enrolled' | 'updated' | 'deleted') => void;

export class FaceDb {
  readonly file: string;
  private readonly low: Low<DbFile>;
  private readonly listeners = new Set<ChangeListener>();
  private generationCounter = 0;

  private constructor(file: string, low: Low<DbFile>) {
    this.file = file;
    this.low = low;
  }

  /** Opens (creating if absent) and validates the file; a file that fails to parse or validate is refused. */
  static async open(file: string = DEFAULT_DB_FILE, opts: AtomicJsonFileOptions = {}): Promise<FaceDb> {
    const resolved = path.resolve(file);
    const adapter = new AtomicJsonFile<DbFile>(resolved, opts);
    let raw: unknown;
    try {
      raw = await adapter.read();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (code ?? String(err));
      throw new FacegateError(`face database ${resolved}: ${why}; fix or move the file, it was not modified`);
    }
    const low = new Low<DbFile>(adapter, emptyDb());
    if (raw === null) {
      await mkdir(path.dirname(resolved), { recursive: true });
      low.data = emptyDb();
      await low.write();
    } else {
      const parsed = dbFileSchema.safeParse(raw);
      if (!parsed.success) {
        throw new FacegateError(
          `face database ${resolved}: invalid (${describeZodError(parsed.error)}); fix or move the file, it was not modified`,
        );
      }
      low.data = parsed.data;
    }
    return new FaceDb(resolved, low);
  }

  /** Bumped on every change, so caches (the matching index) know when to rebuild. */
  get generation(): number {
    return this.generationCounter;
  }

  list(): readonly Identity[] {
    return this.low.data.identities;
  }

  tombstones(): readonly Tombstone[] {
    return this.low.data.tombstones;
  }

  get(id: string): Identity | undefined {
    return this.low.data.identities.find((i) => i.id === id);
  }

  findByBadge(badge: string): Identity | undefined {
    return this.low.data.identities.find((i) => i.badges.includes(badge));
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Creates or updates an identity's fields (not its encodings). A badge may belong to one identity only. */
  async upsert(fields: IdentityFields): Promise<Identity> {
    for (const badge of fields.badges) {
      const holder = this.findByBadge(badge);
      if (holder && holder.id !== fields.id)
        throw new FacegateError(`badge already belongs to identity "${holder.id}"`);
    }
    const now = new Date().toISOString();
    const existing = this.get(fields.id);
    let identity: Identity;
    if (existing) {
      Object.assign(existing, fields, { version: existing.version + 1, updatedAt: now });
      identity = existing;
    } else {
      const previous = this.low.data.tombstones.find((t) => t.id === fields.id);
      identity = { ...fields, version: (previous?.version ?? 0) + 1, updatedAt: now, encodings: [] };
      this.low.data.identities.push(identity);
      this.low.data.tombstones = this.low.data.tombstones.filter((t) => t.id !== fields.id);
    }
    await this.commit(identity.id, existing ? 'updated' : 'enrolled');
    return identity;
  }

  async addEncodings(id: string, encodings: StoredEncoding[]): Promise<Identity> {
    const identity = this.get(id);
    if (!identity) throw new FacegateError(`no identity "${id}"`);
    const foreign = identity.encodings.find((e) => encodings.some((n) => n.encoder !== e.encoder));
    if (foreign) {
      throw new FacegateError(
        `identity "${id}" has encodings from encoder "${foreign.encoder}"; encoders are never mixed: remove it and re-enroll`,
      );
    }
    identity.encodings.push(...encodings);
    identity.version += 1;
    identity.updatedAt = new Date().toISOString();
    await this.commit(id, 'updated');
    return identity;
  }

  /** Deletes the identity and its encodings, leaving a data-free tombstone for fleet sync. */
  async remove(id: string): Promise<boolean> {
    const identity = this.get(id);
    if (!identity) return false;
    this.low.data.identities = this.low.data.identities.filter((i) => i.id !== id);
    this.low.data.tombstones = this.low.data.tombstones.filter((t) => t.id !== id);
    this.low.data.tombstones.push({ id, version: identity.version + 1, deletedAt: new Date().toISOString() });
    await this.commit(id, 'deleted');
    return true;
  }

  /** Replaces a whole identity as received (fleet sync, import); the caller has checked its version. */
  async put(identity: Identity): Promise<void> {
    const parsed = dbFileSchema.shape.identities.element.parse(identity);
    const existed = this.get(parsed.id) !== undefined;
    this.low.data.identities = this.low.data.identities.filter((i) => i.id !== parsed.id);
    this.low.data.tombstones = this.low.data.tombstones.filter((t) => t.id !== parsed.id);
    this.low.data.identities.push(parsed);
    await this.commit(parsed.id, existed ? 'updated' : 'enrolled');
  }

  /** Applies a deletion received from elsewhere (fleet tombstone). */
  async putTombstone(tombstone: Tombstone): Promise<void> {
    const existed = this.get(tombstone.id) !== undefined;
    this.low.data.identities = this.low.data.identities.filter((i) => i.id !== tombstone.id);
    this.low.data.tombstones = this.low.data.tombstones.filter((t) => t.id !== tombstone.id);
    this.low.data.tombstones.push(tombstone);
    await this.commit(tombstone.id, existed ? 'deleted' : 'updated');
  }

  /** The whole file's content, for `db export` (vectors included: treat the export as sensitive). */
  snapshot(): DbFile {
    return structuredClone(this.low.data);
  }

  /** Re-reads the file from disk (e.g. after another process changed it); a bad file leaves memory untouched. */
  async reload(): Promise<void> {
    const fresh = await FaceDb.open(this.file);
    this.low.data = fresh.low.data;
    this.generationCounter += 1;
  }

  private async commit(id: string, change: 'enrolled' | 'updated' | 'deleted'): Promise<void> {
    this.generationCounter += 1;
    await this.low.write();
    for (const listener of this.listeners) listener(id, change);
  }
}
