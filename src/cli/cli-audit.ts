/**
 * The CLI's side of the access log: the data directory a command works on (`--data-dir`; else, with `--db`, the
 * database's directory — the daemon's layout, `<data.dir>/faces.json`; else the config's `data.dir`), and appending its admin actions (`by: cli`) to the same log the daemon writes — several processes
 * may append at once (src/store/audit-log.ts). A log that cannot be written is one warning on stderr; the change
 * itself already happened and is not undone.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { AuditEntry } from '../store/audit-record.ts';
import { errorMessage } from '../util/errors.ts';
import { cliConfig } from './recognition-setup.ts';

export const AUDIT_SUBDIR = 'audit';

export async function dataDirFor(cmd: Command): Promise<string> {
  const { dataDir, db } = cmd.optsWithGlobals<{ dataDir?: string; db?: string }>();
  if (dataDir) return path.resolve(dataDir);
  return path.resolve(db ? path.dirname(db) : (await cliConfig(cmd)).data.dir);
}

export async function auditDirFor(cmd: Command): Promise<string> {
  return path.join(await dataDirFor(cmd), AUDIT_SUBDIR);
}

async function withLog(cmd: Command, use: (log: import('../store/audit-log.ts').AuditLog) => Promise<void> | void) {
  const config = await cliConfig(cmd);
  if (!config.audit.enabled) return;
  try {
    const { AuditLog } = await import('../store/audit-log.ts');
    const log = await AuditLog.open({
      dir: await auditDirFor(cmd),
      maxDays: config.audit.maxDays,
      maxMB: config.audit.maxMB,
    });
    try {
      await use(log);
    } finally {
      await log.close();
    }
  } catch (err) {
    process.stderr.write(`warning: access log not written: ${errorMessage(err)}\n`);
  }
}

/** Appends one admin action done from the command line. */
export function auditAdmin(cmd: Command, entry: Omit<AuditEntry, 'kind' | 'by'>): Promise<void> {
  return withLog(cmd, async (log) => {
    const kiosk = (await cliConfig(cmd)).kioskId;
    log.append({ kiosk, ...entry, kind: 'admin', by: 'cli' });
  });
}

/** Removes a deleted person's names from the access log (the daemon does too, if it runs and follows the DB). */
export function auditRedact(cmd: Command, identityId: string): Promise<void> {
  return withLog(cmd, async (log) => {
    await log.redactIdentity(identityId);
  });
}
