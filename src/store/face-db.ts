/**
 * The local face database: one JSON file of identities and their encodings (vectors, never photos), read from
 * memory. One writer discipline across processes (daemon, CLI, MQTT commands, fleet sync): every change takes the
 * lock next to the file, re-reads the file if another process replaced it, applies itself to that fresh copy and
 * writes atomically (src/store/atomic-file.ts), so no update is lost and nobody restores what another deleted.
 * The daemon opens it with `watch`, and picks up other processes' changes within the poll period (1 s; the
 * directory watch usually within milliseconds), announcing each changed id like its own changes.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FacegateError } from '../util/errors.ts';
import { AtomicJsonFile, type AtomicJsonFileOptions } from './atomic-file.ts';
import { DbLock, markDaemon, runningDaemon } from './db-lock.ts';
import { stampOf, watchFile } from './db-watch.ts';
import { parseDbFile } from './migrations.ts';
import { type Change, diff, recordIn, sameRules, withRecord } from './records.ts';
import {
  type AccessRules,
  type DbFile,
  type DbRecord,
  emptyDb,
  type Identity,
  identitySchema,
  type StoredEncoding,
  type Tombstone,
} from './schema.ts';

export type { Change } from './records.ts';

export const DEFAULT_DB_FILE = 'data/faces.json';

export type IdentityFields = Omit<Identity, 'encodings' | 'version' | 'updatedAt' | 'epoch'>;

type ChangeListener = (id: string, change: Change) => void;

/** A change of the access rules or identities' groups (src/access/rule-edits.ts builds them): the new file, or null. */
export interface AccessStep<T> {
  next: DbFile | null;
  result: T;
  /** Identities whose record the step changed (their group membership). */
  changedIds?: string[];
}

export interface FaceDbOptions extends AtomicJsonFileOptions {
  /** Follow changes made by other processes and mark this process as the file's daemon (the daemon does). */
  watch?: boolean;
  /** Stat poll period behind the directory watch. */
  pollMs?: number;
  /** How long a writer waits for another process's lock before giving up with one line. */
  lockTimeoutMs?: number;
  /** Told when a change made elsewhere cannot be loaded (the file no longer validates); memory stays as it was. */
  onWatchError?: (message: string) => void;
  /** Told when changes made by another process were loaded (found by the watch, or before a write of ours). */
  onExternalChange?: (changedIds: number) => void;
}

/** The outcome of one change: the new file content (or null for "nothing to write"), the result, what changed. */
interface Step<T> {
  next: DbFile | null;
  result: T;
  changes?: Array<[string, Change]>;
}

export class FaceDb {
  readonly file: string;
  private data: DbFile;
  /** The stamp of the file version `data` came from (or was written as). */
  private stamp: string | null;
  private readonly adapter: AtomicJsonFile<DbFile>;
  private readonly opts: FaceDbOptions;
  private readonly listeners = new Set<ChangeListener>();
  private readonly rulesListeners = new Set<() => void>();
  private generationCounter = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private stopWatching: (() => void) | null = null;
  private unmarkDaemon: (() => Promise<void>) | null = null;
  private syncPending = false;
  /** The rules changed since listeners were last told (announced with the next batch of changes). */
  private rulesDirty = false;
  private lastWatchError = '';

  private constructor(file: string, data: DbFile, stamp: string | null, opts: FaceDbOptions) {
    this.file = file;
    this.data = data;
    this.stamp = stamp;
    this.opts = opts;
    this.adapter = new AtomicJsonFile<DbFile>(file, opts);
  }

  /** Opens (creating if absent) and validates the file; a file that fails to parse or validate is refused. */
  static async open(file: string = DEFAULT_DB_FILE, opts: FaceDbOptions = {}): Promise<FaceDb> {
    const resolved = path.resolve(file);
    let loaded = await FaceDb.load(resolved);
    if (!loaded) {
      await mkdir(path.dirname(resolved), { recursive: true });
      const lock = await DbLock.acquire(resolved, { timeoutMs: opts.lockTimeoutMs });
      try {
        loaded = await FaceDb.load(resolved);
        if (!loaded) {
          await new AtomicJsonFile<DbFile>(resolved, opts).write(emptyDb());
          loaded = { data: emptyDb(), stamp: await stampOf(resolved) };
        }
      } finally {
        await lock.release();
      }
    }
    const db = new FaceDb(resolved, loaded.data, loaded.stamp, opts);
    if (opts.watch) await db.follow();
    return db;
  }

  /** The file's content and stamp, null when absent; throws a one-line FacegateError when it does not validate. */
  private static async load(file: string): Promise<{ data: DbFile; stamp: string | null } | null> {
    // Stamp first: if the file is replaced in between, the content is newer than the stamp and is re-read later.
    const stamp = await stampOf(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new FacegateError(
        `face database ${file}: ${code ?? String(err)}; fix or move the file, it was not modified`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new FacegateError(
        `face database ${file}: not valid JSON (${(err as Error).message}); fix or move the file, it was not modified`,
      );
    }
    const parsed = parseDbFile(raw);
    if (!parsed.ok)
      throw new FacegateError(
        `face database ${file}: invalid (${parsed.error}); fix or move the file, it was not modified`,
      );
    return { data: parsed.data, stamp };
  }

  /** Bumped on every change, so caches (the matching index) know when to rebuild. */
  get generation(): number {
    return this.generationCounter;
  }

  list(): readonly Identity[] {
    return this.data.identities;
  }

  tombstones(): readonly Tombstone[] {
    return this.data.tombstones;
  }

  get(id: string): Identity | undefined {
    return this.data.identities.find((i) => i.id === id);
  }

  /** The identity or the tombstone held for `id`. */
  record(id: string): DbRecord | null {
    return recordIn(this.data, id);
  }

  /** The access rules (schedules, holiday calendars, groups, their tombstones); never modify the result. */
  rules(): Readonly<AccessRules> {
    return this.data.rules;
  }

  /** Told after the access rules changed (own change, another process's, a reload). */
  onRulesChange(listener: () => void): () => void {
    this.rulesListeners.add(listener);
    return () => this.rulesListeners.delete(listener);
  }

  /**
   * One change of the access rules (and group membership), under the writer lock on a fresh copy of the file like
   * every identity change. The step validates (src/access/records.ts) and throws one line to store nothing.
   */
  editAccess<T>(step: (data: DbFile) => AccessStep<T>): Promise<T> {
    return this.change((data) => {
      const outcome = step(data);
      const changes = (outcome.changedIds ?? []).map((id): [string, Change] => [id, 'updated']);
      return { next: outcome.next, result: outcome.result, changes };
    });
  }

  findByBadge(badge: string): Identity | undefined {
    return this.data.identities.find((i) => i.badges.includes(badge));
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The pid of a running daemon that follows this file (another process), or null. */
  runningDaemon(): number | null {
    return runningDaemon(this.file);
  }

  /**
   * Creates or updates an identity's fields (not its encodings). A badge may belong to one identity only.
   * Enrolling an id that was deleted starts a new epoch: a new identity, nothing of the old one.
   */
  upsert(fields: IdentityFields): Promise<Identity> {
    return this.change((data) => {
      for (const badge of fields.badges) {
        const holder = data.identities.find((i) => i.badges.includes(badge));
        if (holder && holder.id !== fields.id)
          throw new FacegateError(`badge already belongs to identity "${holder.id}"`);
      }
      const now = new Date().toISOString();
      const current = recordIn(data, fields.id);
      let identity: Identity;
      if (current?.kind === 'identity') {
        const { epoch, encodings, version } = current.identity;
        identity = { ...current.identity, ...fields, epoch, encodings, version: version + 1, updatedAt: now };
      } else {
        const ended = current?.tombstone;
        const epoch = ended ? ended.epoch + 1 : 0;
        identity = { ...fields, epoch, version: (ended?.version ?? 0) + 1, updatedAt: now, encodings: [] };
      }
      const change: Change = current?.kind === 'identity' ? 'updated' : 'enrolled';
      return {
        next: withRecord(data, fields.id, { kind: 'identity', identity }),
        result: identity,
        changes: [[fields.id, change]],
      };
    });
  }

  addEncodings(id: string, encodings: StoredEncoding[]): Promise<Identity> {
    return this.change((data) => {
      const existing = data.identities.find((i) => i.id === id);
      if (!existing) throw new FacegateError(`no identity "${id}"`);
      const foreign = existing.encodings.find((e) => encodings.some((n) => n.encoder !== e.encoder));
      if (foreign) {
        throw new FacegateError(
          `identity "${id}" has encodings from encoder "${foreign.encoder}"; encoders are never mixed: remove it and re-enroll`,
        );
      }
      const identity: Identity = {
        ...existing,
        encodings: [...existing.encodings, ...encodings],
        version: existing.version + 1,
        updatedAt: new Date().toISOString(),
      };
      return {
        next: withRecord(data, id, { kind: 'identity', identity }),
        result: identity,
        changes: [[id, 'updated']],
      };
    });
  }

  /**
   * Replaces all of an identity's encodings (re-enrollment, e.g. with a newer encoder: `enroll --replace`). Every
   * new encoding must come from one encoder.
   */
  replaceEncodings(id: string, encodings: StoredEncoding[]): Promise<Identity> {
    return this.change((data) => {
      const existing = data.identities.find((i) => i.id === id);
      if (!existing) throw new FacegateError(`no identity "${id}"`);
      if (encodings.length === 0 || encodings.some((e) => e.encoder !== encodings[0]!.encoder)) {
        throw new FacegateError(`replacing the encodings of "${id}" needs at least one, all from one encoder`);
      }
      const identity: Identity = {
        ...existing,
        encodings: [...encodings],
        version: existing.version + 1,
        updatedAt: new Date().toISOString(),
      };
      return {
        next: withRecord(data, id, { kind: 'identity', identity }),
        result: identity,
        changes: [[id, 'updated']],
      };
    });
  }

  /** Deletes the identity and its encodings, leaving a data-free tombstone (id, epoch, version, time) for the fleet. */
  remove(id: string): Promise<boolean> {
    return this.change((data) => {
      const identity = data.identities.find((i) => i.id === id);
      if (!identity) return { next: null, result: false };
      const tombstone: Tombstone = {
        id,
        epoch: identity.epoch,
        version: identity.version + 1,
        deletedAt: new Date().toISOString(),
      };
      return { next: withRecord(data, id, { kind: 'tombstone', tombstone }), result: true, changes: [[id, 'deleted']] };
    });
  }

  /**
   * Adds or replaces a whole identity on an admin's explicit request (`db import`): it becomes newer than what is
   * held, and an id held as a tombstone comes back as a new epoch.
   */
  put(identity: Identity): Promise<Identity> {
    const parsed = identitySchema.parse(identity);
    return this.change((data) => {
      const current = recordIn(data, parsed.id);
      const floor =
        current?.kind === 'identity'
          ? { epoch: current.identity.epoch, version: current.identity.version + 1 }
          : current
            ? { epoch: current.tombstone.epoch + 1, version: current.tombstone.version + 1 }
            : { epoch: 0, version: 0 };
      const stored = {
        ...parsed,
        epoch: Math.max(parsed.epoch, floor.epoch),
        version: Math.max(parsed.version, floor.version),
      };
      const change: Change = current?.kind === 'identity' ? 'updated' : 'enrolled';
      return {
        next: withRecord(data, parsed.id, { kind: 'identity', identity: stored }),
        result: stored,
        changes: [[parsed.id, change]],
      };
    });
  }

  /**
   * Stores a record received from elsewhere (fleet sync) as it is, if `accept` says it beats what is held now —
   * decided on the freshly read file, under the lock. Returns whether it was stored.
   */
  applyRecord(record: DbRecord, accept: (current: DbRecord | null) => boolean): Promise<boolean> {
    const id = record.kind === 'identity' ? record.identity.id : record.tombstone.id;
    return this.change((data) => {
      const current = recordIn(data, id);
      if (!accept(current)) return { next: null, result: false };
      const change: Change =
        record.kind === 'tombstone' ? 'deleted' : current?.kind === 'identity' ? 'updated' : 'enrolled';
      return { next: withRecord(data, id, record), result: true, changes: [[id, change]] };
    });
  }

  /** The whole file's content, for `db export` (vectors included: treat the export as sensitive). */
  snapshot(): DbFile {
    return structuredClone(this.data);
  }

  /**
   * Re-reads the file now (SIGHUP, the MQTT `reload` command) and announces every id that changed; a file that no
   * longer validates is refused with one line and memory stays as it was. Returns the number of changed ids.
   */
  reload(): Promise<number> {
    return this.serial(async () => {
      const changes = await this.sync(true);
      this.announce(changes);
      return changes.length;
    });
  }

  /** Stops following the file and removes the daemon mark; pending changes finish first. */
  async close(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = null;
    await this.queue.catch(() => undefined);
    await this.unmarkDaemon?.();
    this.unmarkDaemon = null;
  }

  private async follow(): Promise<void> {
    this.unmarkDaemon = await markDaemon(this.file);
    this.stopWatching = watchFile(this.file, () => this.maybeChanged(), this.opts.pollMs ?? 1000);
  }

  private maybeChanged(): void {
    if (this.syncPending) return;
    this.syncPending = true;
    this.serial(async () => {
      this.syncPending = false;
      this.announce(await this.sync(false, true));
      this.lastWatchError = '';
    }).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      // Once per distinct problem, not on every poll.
      if (message !== this.lastWatchError) this.opts.onWatchError?.(message);
      this.lastWatchError = message;
    });
  }

  /**
   * Loads the file if it is not the version in memory (or always, with `force`); returns what changed. `external`:
   * a change found on its own (not asked for by reload()), reported to onExternalChange.
   */
  private async sync(force: boolean, external = false): Promise<Array<[string, Change]>> {
    const stamp = await stampOf(this.file);
    if (!force && stamp === this.stamp) return [];
    const loaded = await FaceDb.load(this.file);
    if (!loaded)
      throw new FacegateError(`face database ${this.file} is gone; restore it or restart to start an empty one`);
    const changes = diff(this.data, loaded.data);
    const rulesChanged = !sameRules(this.data, loaded.data);
    this.data = loaded.data;
    if (rulesChanged) this.rulesDirty = true;
    this.stamp = loaded.stamp;
    this.generationCounter += 1;
    if (external && changes.length > 0) this.opts.onExternalChange?.(changes.length);
    return changes;
  }

  /** One change under the lock: fresh copy of the file, `step`, atomic write; then its changes are announced. */
  private change<T>(step: (data: DbFile) => Step<T>): Promise<T> {
    return this.serial(async () => {
      const lock = await DbLock.acquire(this.file, { timeoutMs: this.opts.lockTimeoutMs });
      let external: Array<[string, Change]> = [];
      let outcome: Step<T>;
      try {
        external = await this.sync(false, true);
        outcome = step(this.data);
        if (outcome.next) {
          if (!sameRules(this.data, outcome.next)) this.rulesDirty = true;
          await this.adapter.write(outcome.next);
          this.data = outcome.next;
          this.stamp = await stampOf(this.file);
          this.generationCounter += 1;
        }
      } finally {
        await lock.release();
        this.announce(external);
      }
      this.announce(outcome.changes ?? []);
      return outcome.result;
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private announce(changes: Array<[string, Change]>): void {
    for (const [id, change] of changes) for (const listener of this.listeners) listener(id, change);
    if (!this.rulesDirty) return;
    this.rulesDirty = false;
    for (const listener of this.rulesListeners) listener();
  }
}
