/**
 * Start-up clean-up of relay processes a previous facegate left behind: its units (recognised by their argv marker
 * and relay ids) and, for gpiod, any `gpioset` still driving our line — e.g. an older facegate's `gpioset -i`
 * holder, which libgpiod v2 keeps running (spinning a core) after end of input, holding the door unlocked and
 * making the restarted daemon fail with EBUSY. Only processes of our own user are considered; each one ended is
 * logged. A process holding the line we are configured to drive is ours to end: we cannot drive the door otherwise.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';

export type ArgvMatcher = (argv: readonly string[]) => boolean;

const GONE_WAIT_MS = 2000;

interface ProcInfo {
  pid: number;
  argv: string[];
  pgid: number;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    // stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, argv, pgid: Number(fields[2]) };
  } catch {
    return null; // exited meanwhile, or not ours to read
  }
}

/** The process has exited (or is a zombie waiting to be reaped, which holds nothing any more). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Our user's processes (other than this one) whose argv matches, read from /proc (Linux; none elsewhere). */
export function findProcesses(match: ArgvMatcher): ProcInfo[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const found: ProcInfo[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (uid !== undefined && statSync(`/proc/${entry}`).uid !== uid) continue;
    } catch {
      continue;
    }
    const info = readProc(pid);
    if (info && info.argv.length > 0 && match(info.argv)) found.push(info);
  }
  return found;
}

/**
 * Ends (SIGKILL) every matching process, its whole group when it leads one of our units, and waits until they are
 * gone so the line is free. Returns how many were ended.
 */
export async function endStaleHolders(match: ArgvMatcher, what: string, logger?: Logger): Promise<number> {
  const stale = findProcesses(match);
  for (const proc of stale) {
    logger?.warn(
      { event: 'relay-stale-holder', pid: proc.pid, argv: proc.argv.slice(0, 12) },
      `ending a leftover process driving ${what} (pid ${proc.pid})`,
    );
    try {
      process.kill(proc.pgid === proc.pid ? -proc.pid : proc.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + GONE_WAIT_MS;
  while (stale.some((p) => !processGone(p.pid)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return stale.length;
}

/** `… facegate-relay <ids…>`: one of our units for exactly this relay. */
export function unitMatcher(marker: string, ids: readonly string[]): ArgvMatcher {
  return (argv) => {
    const at = argv.indexOf(marker);
    return at >= 0 && argv.length === at + 1 + ids.length && ids.every((id, i) => argv[at + 1 + i] === id);
  };
}
