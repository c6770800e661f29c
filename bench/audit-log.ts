/**
 * `facegate bench audit-log`: writes a 1 M-record access log (90 days of a busy door, ~460 records an hour, through
 * the real writer) into a temp directory, then times `facegate log --since 1h`'s query — in this process (median
 * of several) and in a fresh process per run (the query alone, and the process end to end, node + tsx start
 * included). The issue asks for ≤ 200 ms on 1 M records. Also runnable directly: `node --import tsx bench/audit-log.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog } from '../src/store/audit-log.ts';
import { queryAuditLog } from '../src/store/audit-query.ts';
import type { AuditEntry } from '../src/store/audit-record.ts';
import { listSegments } from '../src/store/audit-segments.ts';
import { maskBadge } from '../src/util/badge-mask.ts';
import { siblingEntry, tsxArgv } from '../src/util/entry.ts';
import { seededRandom } from '../src/util/random.ts';
import { median, round1 } from '../src/util/stats.ts';

export interface AuditLogBenchOptions {
  records?: number;
  days?: number;
  runs?: number;
  /** Keep the generated log here instead of a temp directory that is removed afterwards. */
  dir?: string;
  log?: (line: string) => void;
}

export interface AuditLogBenchResult {
  records: number;
  days: number;
  segments: number;
  sizeMB: number;
  writeSeconds: number;
  since1h: {
    matched: number;
    inProcessMedianMs: number;
    freshProcessQueryMedianMs: number;
    freshProcessTotalMedianMs: number;
    runs: number;
  };
}

const HOUR = 3_600_000;
/** The query module beside this one's build: audit-query.js from dist/, audit-query.ts (under tsx) from the sources. */
const QUERY_MODULE = siblingEntry(import.meta.url, '../src/store/audit-query');

function entryFor(random: () => number, time: number): AuditEntry {
  const person = Math.floor(random() * 500);
  const denied = random() < 0.08;
  return {
    kind: 'access',
    what: 'badge+face',
    result: denied ? 'denied' : 'granted',
    reason: denied ? 'no-match' : 'match',
    kiosk: 'front-door',
    identityId: `person-${person}`,
    name: `Person Number ${person}`,
    badge: maskBadge(String(10_000_000 + person)),
    detail: denied ? 'distance 0.71 over 0.60' : 'distance 0.41',
    time,
  };
}

/** One `--since 1h` query in a fresh process; prints its own query time, so start-up can be told apart. */
function freshProcessQuery(dir: string, from: number): { queryMs: number; totalMs: number } {
  const script = `
    import { queryAuditLog } from ${JSON.stringify(QUERY_MODULE.href)};
    const t0 = performance.now();
    const r = await queryAuditLog(${JSON.stringify(dir)}, { from: ${from}, limit: 100 });
    console.log(JSON.stringify({ ms: performance.now() - t0, matched: r.summary.matched }));`;
  const t0 = performance.now();
  const child = spawnSync(process.execPath, [...tsxArgv(QUERY_MODULE), '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  const totalMs = performance.now() - t0;
  if (child.status !== 0) throw new Error(`query process failed: ${child.stderr.split('\n')[0]}`);
  return { queryMs: (JSON.parse(child.stdout) as { ms: number }).ms, totalMs };
}

export async function benchAuditLog(opts: AuditLogBenchOptions = {}): Promise<AuditLogBenchResult> {
  const records = opts.records ?? 1_000_000;
  const days = opts.days ?? 90;
  const runs = opts.runs ?? 7;
  const say = opts.log ?? (() => undefined);
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'facegate-bench-audit-'));
  try {
    const now = Date.now();
    const start = now - days * 24 * HOUR;
    const step = (now - start) / records;
    const random = seededRandom(14);
    say(`writing ${records} records over ${days} days to ${dir}`);
    const t0 = performance.now();
    const log = await AuditLog.open({ dir, maxDays: days + 1, maxMB: 4096 });
    for (let i = 0; i < records; i++) log.append(entryFor(random, Math.floor(start + i * step)));
    await log.close();
    const writeSeconds = round1((performance.now() - t0) / 1000);
    const segments = listSegments(dir);
    const sizeMB = round1(segments.reduce((sum, s) => sum + statSync(s.file).size, 0) / 1024 / 1024);
    say(`written in ${writeSeconds} s: ${segments.length} segments, ${sizeMB} MB`);

    const from = now - HOUR;
    const inProcess: number[] = [];
    let matched = 0;
    await queryAuditLog(dir, { from, limit: 100 }); // warm-up (page cache, JIT)
    for (let r = 0; r < runs; r++) {
      const q0 = performance.now();
      matched = (await queryAuditLog(dir, { from, limit: 100 })).summary.matched;
      inProcess.push(performance.now() - q0);
    }
    const fresh = Array.from({ length: Math.max(3, Math.ceil(runs / 2)) }, () => freshProcessQuery(dir, from));
    return {
      records,
      days,
      segments: segments.length,
      sizeMB,
      writeSeconds,
      since1h: {
        matched,
        inProcessMedianMs: round1(median(inProcess)),
        freshProcessQueryMedianMs: round1(median(fresh.map((f) => f.queryMs))),
        freshProcessTotalMedianMs: round1(median(fresh.map((f) => f.totalMs))),
        runs,
      },
    };
  } finally {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await benchAuditLog({ log: (line) => process.stderr.write(`${line}\n`) });
  console.log(JSON.stringify(result, null, 1));
}
