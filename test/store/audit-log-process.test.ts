import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AuditLog } from '../../src/store/audit-log.ts';
import { queryAuditLog } from '../../src/store/audit-query.ts';
import { listSegments } from '../../src/store/audit-segments.ts';

const writerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'audit-writer-child.ts');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facegate-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Writer {
  child: ChildProcess;
  /** The highest number whose append() returned, -1 before the first. */
  acked: () => number;
  exited: Promise<void>;
}

function spawnWriter(t: TestContext, args: string[], env: Record<string, string> = {}): Writer {
  const ackFile = path.join(tempDir(t), 'acks');
  writeFileSync(ackFile, '');
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, FACEGATE_CHILD_ACKS: ackFile },
  });
  t.after(() => child.kill('SIGKILL'));
  const acked = () => {
    const lines = readFileSync(ackFile, 'utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a number cut off by the kill
    return lines.length > 0 ? Number(lines.at(-1)) : -1;
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, acked, exited };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const seqOf = (detail: string) => Number(detail.split(' ')[0]);

test('kill -9 while appending, three times over: the log opens and holds every acknowledged record', async (t) => {
  const dir = tempDir(t);
  for (let round = 0; round < 3; round++) {
    const first = round * 1_000_000;
    // Small segments so the kill can also land in a rotation.
    const writer = spawnWriter(t, [dir, '', '65536', String(first)]);
    await until(`round ${round}: 1500 records`, () => writer.acked() >= first + 1500);
    writer.child.kill('SIGKILL');
    await writer.exited;
    const acked = writer.acked();
    const log = await AuditLog.open({ dir }); // closes off a torn line, if the kill made one
    await log.close();
    const { records, skippedLines } = await queryAuditLog(dir, { limit: 10_000_000 });
    const mine = records.map((r) => seqOf(r.detail)).filter((n) => n >= first && n < first + 1_000_000);
    const count = mine.length;
    assert.ok(
      count === acked - first + 1 || count === acked - first + 2,
      `round ${round}: ${count} records for ack ${acked}`,
    );
    assert.deepEqual(
      mine.reverse(),
      [...Array(count).keys()].map((i) => first + i),
      'a gapless prefix, no duplicates',
    );
    assert.ok(skippedLines <= round + 1, `${skippedLines} torn lines after ${round + 1} kills`);
  }
  assert.ok(listSegments(dir).length > 3);
});

test('a reader in another process while the writer appends and rotates: always a consistent prefix', async (t) => {
  const dir = tempDir(t);
  const total = 1500;
  const writer = spawnWriter(t, [dir, String(total), '32768', '0'], { FACEGATE_CHILD_PAUSE_MS: '1' });
  await until('the first records', () => writer.acked() >= 10);
  let done = false;
  void writer.exited.then(() => {
    done = true;
  });
  const seen: number[] = [];
  while (!done) {
    const acked = writer.acked(); // every record up to here was appended before this query started
    const { records, skippedLines, summary } = await queryAuditLog(dir, { limit: 10_000 });
    const seqs = records.map((r) => seqOf(r.detail));
    assert.equal(skippedLines, 0, 'a line being written is not a damaged line');
    assert.deepEqual(
      seqs,
      [...Array(seqs.length).keys()].map((i) => seqs.length - 1 - i),
      'newest first, no gaps',
    );
    assert.ok(seqs.length >= acked + 1, `saw ${seqs.length}, ${acked + 1} acknowledged before`);
    assert.equal(summary.denied, Math.ceil(seqs.length / 5));
    // The time search too, while the file grows under it.
    if (seqs.length > 0) {
      const newest = records[0]!.t;
      const recent = await queryAuditLog(dir, { from: newest - 50, limit: 10_000 });
      assert.ok(recent.records.every((r) => r.t >= newest - 50));
      assert.ok(recent.records.some((r) => seqOf(r.detail) === seqs[0]));
    }
    seen.push(seqs.length);
    await sleep(20);
  }
  assert.equal((await queryAuditLog(dir, { limit: 10_000 })).records.length, total);
  assert.ok(seen.length >= 3 && seen.at(-1)! > seen[0]!, `reads while writing: ${seen.length}`);
  assert.ok(listSegments(dir).length >= 10, 'the writer rotated during the reads');
});
