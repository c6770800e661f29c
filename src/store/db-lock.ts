/**
 * The face database's writer lock and the daemon's marker, both small files next to the database.
 *
 * `<db>.lock` is held by one writer (daemon, CLI, MQTT command) for the few milliseconds of re-read + change +
 * atomic write. It names its holder (pid and the process's start time from /proc, so a reused pid is not mistaken
 * for the holder) and appears complete or not at all (written to a private file, then hard-linked to the lock name,
 * which fails if the lock exists). A holder that died — killed mid-write — is recognised at once and its lock
 * broken; a live one is waited for, however slow it is. proper-lockfile was considered: its staleness is an mtime
 * refreshed by a timer, so a crashed writer blocks everyone for the stale period (>= 2 s) and a live daemon whose
 * event loop stalls past it loses its lock; the database lives on the kiosk's own disk, where a pid says more.
 *
 * `<db>.daemon` names the daemon that follows the file, so a CLI that changed it can say the daemon will pick it up.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { FacegateError } from '../util/errors.ts';

interface Owner {
  pid: number;
  /** Start time of the process (clock ticks since boot), null where /proc is missing. */
  start: string | null;
  token: string;
}

/** Field 22 (starttime) of /proc/<pid>/stat, and whether the process is a zombie (dead, not yet reaped). */
function procStat(pid: number): { start: string; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start ? { start, zombie: fields[0] === 'Z' } : null;
  } catch {
    return null;
  }
}

function ownerOf(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return null;
    return { pid: o.pid, start: typeof o.start === 'string' ? o.start : null, token: String(o.token ?? '') };
  } catch {
    return null;
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(owner.pid);
  if (!stat) return true;
  return !stat.zombie && (owner.start === null || owner.start === stat.start);
}

function me(): Owner {
  return { pid: process.pid, start: procStat(process.pid)?.start ?? null, token: randomBytes(8).toString('hex') };
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves a dead holder's lock aside, and puts it back if it turned out to be a new holder's (lost a race). */
async function breakStale(lockFile: string, staleText: string): Promise<void> {
  const aside = `${lockFile}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockFile, aside);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  if ((await readText(aside)) !== staleText) await link(aside, lockFile).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

export interface DbLockOptions {
  /** Give up (one-line error naming the holder) after this long; default 10 s. */
  timeoutMs?: number;
  pollMs?: number;
}

export class DbLock {
  private constructor(
    readonly file: string,
    private readonly text: string,
  ) {}

  /** Takes `<dbFile>.lock`, waiting while a live process holds it and breaking it when its holder is dead. */
  static async acquire(dbFile: string, opts: DbLockOptions = {}): Promise<DbLock> {
    const lockFile = `${dbFile}.lock`;
    const text = JSON.stringify(me());
    const mine = `${lockFile}.${process.pid}-${randomBytes(4).toString('hex')}`;
    // Readable by all: a CLI run as another user must be able to tell a live holder from a dead one.
    await writeFile(mine, text, { mode: 0o644 });
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    try {
      for (;;) {
        try {
          await link(mine, lockFile);
          return new DbLock(lockFile, text);
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err;
        }
        // null: just released, or not readable by us (another user's); then wait like for a live holder.
        const held = await readText(lockFile);
        const owner = held === null ? null : ownerOf(held);
        if (held !== null && (!owner || !alive(owner))) {
          await breakStale(lockFile, held);
          continue;
        }
        if (Date.now() > deadline)
          throw new FacegateError(
            `face database ${dbFile} is locked by ${owner ? `pid ${owner.pid}` : 'another process'} (${lockFile}); ` +
              'try again when it is done',
          );
        await sleep(opts.pollMs ?? 20);
      }
    } finally {
      await unlink(mine).catch(() => undefined);
    }
  }

  /** Releases the lock if it is still ours (a lock broken by mistake is never deleted from under its new holder). */
  async release(): Promise<void> {
    if ((await readText(this.file)) === this.text) await unlink(this.file).catch(() => undefined);
  }
}

/** Marks this process as the daemon following `dbFile`; returns the function that removes the mark. */
export async function markDaemon(dbFile: string): Promise<() => Promise<void>> {
  const file = `${dbFile}.daemon`;
  const text = JSON.stringify(me());
  await writeFile(file, text, { mode: 0o644 });
  return async () => {
    if ((await readText(file)) === text) await unlink(file).catch(() => undefined);
  };
}

/** The pid of a live daemon (another process) following `dbFile`, or null. */
export function runningDaemon(dbFile: string): number | null {
  let text: string;
  try {
    text = readFileSync(`${dbFile}.daemon`, 'utf8');
  } catch {
    return null;
  }
  const owner = ownerOf(text);
  return owner && owner.pid !== process.pid && alive(owner) ? owner.pid : null;
}
