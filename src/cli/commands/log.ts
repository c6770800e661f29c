/**
 * `facegate log [--since 2h | --from T --to T] [--identity ID] [--decision granted|denied] [--reason R]
 * [--kind access|alarm|admin] [--kiosk K] [--limit N] [--json | --csv] [--data-dir DIR]`: the local access log,
 * newest first, read-only (works while the daemon appends). Human mode prints one line per record and a one-line
 * summary over every match; `--csv` writes RFC 4180 rows (cells that a spreadsheet would run as a formula are
 * prefixed with `'`). Names of deleted people are already gone from the log.
 */
import type { Command } from 'commander';
import type { AuditQuery } from '../../store/audit-query.ts';
import type { AuditKind, AuditRecord } from '../../store/audit-record.ts';
import { FacegateError } from '../../util/errors.ts';
import { auditDirFor } from '../cli-audit.ts';
import { globalFlags } from '../context.ts';

interface LogFlags {
  since?: string;
  from?: string;
  to?: string;
  identity?: string;
  decision?: string;
  reason?: string;
  kind?: string;
  kiosk?: string;
  limit?: string;
  csv?: boolean;
}

const CSV_COLUMNS = [
  'time',
  'kind',
  'what',
  'result',
  'reason',
  'kiosk',
  'identityId',
  'name',
  'badge',
  'by',
  'detail',
];
const MAX_LIMIT = 1_000_000;

function csvCell(value: string | null): string {
  let text = value ?? '';
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(r: AuditRecord): string {
  const time = new Date(r.t).toISOString();
  return [time, r.kind, r.what, r.result, r.reason, r.kiosk, r.identityId, r.name, r.badge, r.by, r.detail]
    .map(csvCell)
    .join(',');
}

function humanRow(r: AuditRecord): string {
  const who = r.redacted ? '(deleted person)' : [r.identityId, r.name ? `"${r.name}"` : null].filter(Boolean).join(' ');
  const parts = [
    new Date(r.t).toISOString(),
    r.kind.padEnd(6),
    r.result.padEnd(7),
    r.what,
    r.reason,
    who,
    r.badge,
    r.by ? `by ${r.by}` : null,
    r.kiosk ? `@${r.kiosk}` : null,
    r.detail,
  ];
  // Escaped: a hostile name or detail must not forge lines on a terminal.
  return parts
    .filter((p) => p)
    .map((p) => JSON.stringify(p).slice(1, -1))
    .join('  ');
}

function queryOf(flags: LogFlags): AuditQuery {
  const q: AuditQuery = {};
  if (flags.decision !== undefined) {
    if (flags.decision !== 'granted' && flags.decision !== 'denied')
      throw new FacegateError(`--decision must be granted or denied, got "${flags.decision.slice(0, 20)}"`);
    q.decision = flags.decision;
  }
  if (flags.kind !== undefined) {
    if (!['access', 'alarm', 'admin'].includes(flags.kind))
      throw new FacegateError(`--kind must be access, alarm or admin, got "${flags.kind.slice(0, 20)}"`);
    q.kind = flags.kind as AuditKind;
  }
  if (flags.limit !== undefined) {
    const n = Number(flags.limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
      throw new FacegateError(`--limit must be a whole number 1-${MAX_LIMIT}, got "${flags.limit.slice(0, 20)}"`);
    q.limit = n;
  }
  for (const key of ['identity', 'reason', 'kiosk'] as const) {
    const value = flags[key];
    if (value !== undefined) {
      if (value.length === 0 || value.length > 200) throw new FacegateError(`--${key} must be 1-200 characters`);
      q[key] = value;
    }
  }
  return q;
}

export function registerLogCommand(program: Command): void {
  program
    .command('log')
    .description('the local access log: who came in, denials, alarms, admin actions (newest first)')
    .option('--since <duration>', 'only the last 90s, 15m, 2h, 7d, 2w')
    .option('--from <time>', 'from this ISO time (2025-06-04T08:00), inclusive')
    .option('--to <time>', 'up to this ISO time, exclusive')
    .option('--identity <id>', 'only this identity')
    .option('--decision <decision>', 'granted | denied')
    .option('--reason <reason>', 'only this reason (outside-schedule, no-match, ...)')
    .option('--kind <kind>', 'access | alarm | admin')
    .option('--kiosk <id>', 'only this kiosk')
    .option('--limit <n>', 'at most this many records (default 100); the summary counts every match')
    .option('--csv', 'CSV rows with a header')
    .option('--data-dir <dir>', 'data directory (the log is in <dir>/audit)')
    .action(async (flags: LogFlags, cmd: Command) => {
      const global = globalFlags(cmd);
      if (global.json && flags.csv) throw new FacegateError('--json and --csv: choose one');
      const { parseDuration, parseTimeArg, queryAuditLog } = await import('../../store/audit-query.ts');
      const query = queryOf(flags);
      if (flags.since !== undefined) query.since = parseDuration(flags.since);
      if (flags.from !== undefined) query.from = parseTimeArg(flags.from);
      if (flags.to !== undefined) query.to = parseTimeArg(flags.to);
      const result = await queryAuditLog(await auditDirFor(cmd), query);
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      const s = result.summary;
      if (global.json) {
        process.stdout.write(
          `${JSON.stringify({ records: result.records, summary: s, skippedLines: result.skippedLines })}\n`,
        );
      } else if (flags.csv) {
        process.stdout.write(`${[CSV_COLUMNS.join(','), ...result.records.map(csvRow)].join('\r\n')}\r\n`);
      } else {
        const shown = result.records.length < s.matched ? ` (newest ${result.records.length} shown)` : '';
        const summary = `${s.matched} records${shown}: ${s.granted} granted, ${s.denied} denied, ${s.alarms} alarms, ${s.admin} admin`;
        process.stdout.write(`${[...result.records.map(humanRow), summary].join('\n')}\n`);
      }
    });
}
