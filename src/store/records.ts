/** Pure helpers over the database content: one id's record, a copy with one record replaced, what changed. */
import type { DbFile, DbRecord } from './schema.ts';

export type Change = 'enrolled' | 'updated' | 'deleted';

export function recordIn(data: DbFile, id: string): DbRecord | null {
  const identity = data.identities.find((i) => i.id === id);
  if (identity) return { kind: 'identity', identity };
  const tombstone = data.tombstones.find((t) => t.id === id);
  return tombstone ? { kind: 'tombstone', tombstone } : null;
}

/** `data` with `id`'s record replaced by `record`, in place in its list (new arrays; `data` is never modified). */
export function withRecord(data: DbFile, id: string, record: DbRecord): DbFile {
  const put = <T extends { id: string }>(list: readonly T[], item: T | null): T[] => {
    const at = list.findIndex((x) => x.id === id);
    if (item === null) return at < 0 ? [...list] : list.filter((_, i) => i !== at);
    return at < 0 ? [...list, item] : list.map((x, i) => (i === at ? item : x));
  };
  return {
    ...data,
    identities: put(data.identities, record.kind === 'identity' ? record.identity : null),
    tombstones: put(data.tombstones, record.kind === 'tombstone' ? record.tombstone : null),
  };
}

/** The ids whose record differs between two versions of the file, and how. */
export function diff(before: DbFile, after: DbFile): Array<[string, Change]> {
  const key = (r: DbRecord | null) =>
    r === null
      ? ''
      : r.kind === 'identity'
        ? `i:${r.identity.epoch}:${r.identity.version}:${r.identity.updatedAt}:${r.identity.encodings.length}`
        : `t:${r.tombstone.epoch}:${r.tombstone.version}:${r.tombstone.deletedAt}`;
  const ids = new Set(
    [...before.identities, ...before.tombstones, ...after.identities, ...after.tombstones].map((r) => r.id),
  );
  const out: Array<[string, Change]> = [];
  for (const id of ids) {
    const was = recordIn(before, id);
    const now = recordIn(after, id);
    if (key(was) === key(now)) continue;
    if (now?.kind === 'identity') out.push([id, was?.kind === 'identity' ? 'updated' : 'enrolled']);
    else out.push([id, 'deleted']);
  }
  return out;
}

/** Whether two versions of the file hold the same access rules (small: compared as JSON). */
export function sameRules(before: DbFile, after: DbFile): boolean {
  return JSON.stringify(before.rules) === JSON.stringify(after.rules);
}
