/**
 * Fleet sync of the access rules (issue 14): schedules, holiday calendars and groups travel like identities — one
 * retained record per rule on its canonical topic `<fleet>/rules/<kind>/<name>` (rule names are topic-safe, see
 * RULE_NAME), versioned, deletions as tombstones — so a schedule changed on one kiosk changes the decisions of every
 * kiosk of the fleet. Records are signed with a key derived from the fleet secret (domain-separated from identity
 * records and from commands) but not encrypted: rules hold no personal data. Group membership travels with the
 * identities (their `groups`).
 *
 * The winner of two records for one rule: the higher version, then a tombstone over a record, then the larger
 * digest (deterministic, so every kiosk picks the same). A kiosk that holds a newer record than the one it receives
 * (or sees its rule's topic emptied) republishes its own, so a kiosk coming back with stale rules cannot roll the
 * fleet back. A record is accepted only on the topic of the kind and name inside its signed body.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { applyRuleEntry, type RuleEntry, type RuleKind, ruleEntryIn } from '../access/rule-edits.ts';
import type { FaceDb } from '../store/face-db.ts';
import { errorMessage } from '../util/errors.ts';
import type { FleetIo } from './fleet.ts';

const KINDS: readonly RuleKind[] = ['schedule', 'holiday-calendar', 'group'];
const SIG_DOMAIN = 'facegate fleet rule v1\n';
const MAX_RECORD_BYTES = 64 * 1024;

export interface RuleFleetOptions {
  prefix: string;
  secret: string;
  kioskId: string;
  logger: Logger;
}

interface Rank {
  version: number;
  ends: number;
  digest: string;
}

function rankOf(entry: RuleEntry): Rank {
  const body = entry.record ?? entry.tombstone;
  return {
    version: body?.version ?? 0,
    ends: entry.tombstone && !entry.record ? 1 : 0,
    digest: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
  };
}

/** >0 when a wins. */
function compare(a: Rank, b: Rank): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.ends !== b.ends) return a.ends - b.ends;
  return a.digest === b.digest ? 0 : a.digest > b.digest ? 1 : -1;
}

export class RuleFleetSync {
  readonly rulesPrefix: string;
  private readonly key: Buffer;
  private io: FleetIo | null = null;
  private offRules: (() => void) | null = null;
  private work: Promise<unknown> = Promise.resolve();
  /** Rank last published or received per `<kind>/<name>`: what the broker holds as far as we know. */
  private readonly known = new Map<string, string>();
  applied = 0;
  rejected = 0;

  constructor(
    private readonly db: FaceDb,
    private readonly opts: RuleFleetOptions,
  ) {
    this.rulesPrefix = `${opts.prefix}/rules/`;
    this.key = createHmac('sha256', opts.secret).update('facegate fleet rules signing key v1').digest();
  }

  start(): void {
    this.offRules = this.db.onRulesChange(() => this.publishChanged());
  }

  owns(topic: string): boolean {
    return topic.startsWith(this.rulesPrefix);
  }

  connected(io: FleetIo): void {
    this.io = io;
    this.known.clear();
    io.subscribe([`${this.rulesPrefix}+/+`], (err) => {
      if (err) this.opts.logger.warn({ event: 'fleet-rules', err: errorMessage(err) }, 'rules subscribe failed');
      else this.publishChanged();
    });
  }

  disconnected(): void {
    this.io = null;
  }

  async stop(): Promise<void> {
    this.offRules?.();
    this.offRules = null;
    this.io = null;
    await this.work.catch(() => undefined);
  }

  handle(topic: string, payload: Buffer): void {
    if (!this.owns(topic)) return;
    const [kind, name, ...rest] = topic.slice(this.rulesPrefix.length).split('/');
    if (rest.length > 0 || !KINDS.includes(kind as RuleKind) || !name) return;
    this.work = this.work
      .then(() => this.receive(kind as RuleKind, name, payload))
      .catch((err) => {
        this.rejected += 1;
        this.opts.logger.warn({ event: 'fleet-rules', err: errorMessage(err) }, 'fleet rule not applied');
      });
  }

  private topic(kind: RuleKind, name: string): string {
    return `${this.rulesPrefix}${kind}/${name}`;
  }

  private sign(body: Record<string, unknown>): string {
    return createHmac('sha256', this.key)
      .update(SIG_DOMAIN + JSON.stringify(body))
      .digest('hex');
  }

  private encode(entry: RuleEntry): string {
    const body = { v: 1, origin: this.opts.kioskId, entry };
    return JSON.stringify({ ...body, sig: this.sign(body) });
  }

  private decode(payload: Buffer): RuleEntry {
    if (payload.length > MAX_RECORD_BYTES) throw new Error(`rule record is ${payload.length} bytes`);
    const parsed = JSON.parse(payload.toString('utf8')) as {
      v?: unknown;
      origin?: unknown;
      entry?: unknown;
      sig?: unknown;
    };
    const { sig, ...body } = parsed;
    if (typeof sig !== 'string' || !/^[0-9a-f]{64}$/.test(sig)) throw new Error('unsigned rule record');
    const expected = Buffer.from(this.sign(body), 'hex');
    if (!timingSafeEqual(Buffer.from(sig, 'hex'), expected)) throw new Error('bad rule record signature');
    if (body.v !== 1) throw new Error('unknown rule record version');
    const entry = body.entry as RuleEntry;
    if (typeof entry !== 'object' || entry === null) throw new Error('rule record without an entry');
    return entry;
  }

  private async receive(kind: RuleKind, name: string, payload: Buffer): Promise<void> {
    const key = `${kind}/${name}`;
    const local = ruleEntryIn(this.db.rules(), kind, name);
    if (payload.length === 0) {
      // Emptied: put ours back (a retained record must not be lost to an empty message).
      this.known.delete(key);
      if (local) this.publish(local);
      return;
    }
    let entry: RuleEntry;
    try {
      entry = this.decode(payload);
    } catch (err) {
      // A refused record must not stay the retained copy: put ours back over it.
      this.known.delete(key);
      if (local) this.publish(local);
      throw err;
    }
    if (entry.kind !== kind || entry.name !== name)
      throw new Error(`rule record for ${entry.kind}/${entry.name} on ${key}`);
    const incoming = rankOf(entry);
    this.known.set(key, JSON.stringify(incoming));
    const stored = await applyRuleEntry(
      this.db,
      entry,
      (current) => !current || compare(incoming, rankOf(current)) > 0,
    );
    if (stored) {
      this.applied += 1;
      this.opts.logger.info({ event: 'fleet-rules', kind, name }, `fleet rule applied: ${kind} ${name}`);
      return;
    }
    const now = ruleEntryIn(this.db.rules(), kind, name);
    if (now && compare(rankOf(now), incoming) > 0) this.publish(now);
  }

  /** Publishes every local rule whose rank differs from what the broker holds as far as we know. */
  private publishChanged(): void {
    if (!this.io) return;
    const rules = this.db.rules();
    const names = new Set<string>();
    for (const s of rules.schedules) names.add(`schedule/${s.name}`);
    for (const c of rules.holidayCalendars) names.add(`holiday-calendar/${c.name}`);
    for (const g of rules.groups) names.add(`group/${g.name}`);
    for (const t of rules.tombstones) names.add(`${t.kind}/${t.name}`);
    for (const key of names) {
      const [kind, name] = key.split('/') as [RuleKind, string];
      const entry = ruleEntryIn(rules, kind, name);
      if (entry && this.known.get(key) !== JSON.stringify(rankOf(entry))) this.publish(entry);
    }
  }

  private publish(entry: RuleEntry): void {
    const io = this.io;
    if (!io) return;
    const key = `${entry.kind}/${entry.name}`;
    this.known.set(key, JSON.stringify(rankOf(entry)));
    io.publish(this.topic(entry.kind, entry.name), this.encode(entry), true, (err) => {
      if (err) {
        this.known.delete(key);
        this.opts.logger.warn({ event: 'fleet-rules', err: errorMessage(err) }, 'fleet rule not published');
      }
    });
  }
}
