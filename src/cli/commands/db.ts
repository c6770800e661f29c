/**
 * `facegate db list | show <id> | remove <id> | export <file> | import <file>`. Output never includes vectors.
 * `show` also says the person's access groups and whether they may enter now at this kiosk (issue 14); `remove`
 * removes their names from the access log too.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Identity } from '../../store/schema.ts';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { auditAdmin, auditRedact } from '../cli-audit.ts';
import { globalFlags, output } from '../context.ts';
import { cliConfig, openDb } from '../recognition-setup.ts';

/** What an admin may see of an identity: everything but the face vectors. */
function summary(identity: Identity) {
  const encoders = [...new Set(identity.encodings.map((e) => e.encoder))];
  return {
    id: identity.id,
    name: identity.name,
    badges: identity.badges,
    enabled: identity.enabled,
    validFrom: identity.validFrom ?? null,
    validUntil: identity.validUntil ?? null,
    portraitConsent: identity.portraitConsent ?? false,
    groups: identity.groups ?? [],
    encodings: identity.encodings.length,
    encoders,
    version: identity.version,
    updatedAt: identity.updatedAt,
  };
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('inspect and manage the face database');

  db.command('list')
    .description('every identity, without face vectors')
    .action(async (_opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const rows = (await openDb(cmd)).list().map(summary);
      const human = rows
        .map(
          (r) =>
            `${r.id.padEnd(20)} ${r.name.padEnd(24)} ${String(r.encodings).padStart(3)} enc ${(r.encoders.join(',') || '-').padEnd(18)} ${r.enabled ? '' : '(disabled)'}`,
        )
        .join('\n');
      output(flags, { identities: rows }, human || 'the database is empty');
    });

  db.command('show <id>')
    .description('one identity, without face vectors; its access groups and whether it may enter now')
    .option('--data-dir <dir>', 'data directory (accepted like the other access commands)')
    .action(async (id: string, _opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const faces = await openDb(cmd);
      const identity = faces.get(id);
      if (!identity) throw new FacegateError(`no identity "${id}"`, ExitCode.noMatch);
      const { door, kioskId } = await cliConfig(cmd);
      const { AccessCheck } = await import('../../door/access-check.ts');
      const verdict = new AccessCheck(faces, door, kioskId).verdict(identity, Date.now());
      const canEnterNow = `${verdict.allowed ? 'yes' : 'no'} (${verdict.detail})`;
      const s = { ...summary(identity), canEnterNow, canEnterReason: verdict.reason };
      output(
        flags,
        s,
        Object.entries(s)
          .filter(([k]) => k !== 'canEnterReason')
          .map(
            ([k, v]) => `${k === 'canEnterNow' ? 'can enter now' : k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`,
          )
          .join('\n'),
      );
    });

  db.command('remove <id>')
    .description('delete an identity and everything derived from it (their names leave the access log too)')
    .option('--data-dir <dir>', 'data directory (the access log is in <dir>/audit)')
    .action(async (id: string, _opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const removed = await (await openDb(cmd)).remove(id);
      if (!removed) throw new FacegateError(`no identity "${id}"`, ExitCode.noMatch);
      await auditRedact(cmd, id);
      await auditAdmin(cmd, { what: 'identity.delete', result: 'ok', detail: 'identity removed' });
      output(flags, { removed: id }, `removed ${id}`);
    });

  db.command('export <file>')
    .description('write the whole database (with vectors: keep the file as safe as the database) to <file>')
    .action(async (file: string, _opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const snapshot = (await openDb(cmd)).snapshot();
      await writeFile(file, `${JSON.stringify(snapshot, null, 1)}\n`, { mode: 0o600 });
      output(
        flags,
        { exported: snapshot.identities.length, file },
        `exported ${snapshot.identities.length} identities to ${file}`,
      );
    });

  db.command('import <file>')
    .description('add or replace identities from an exported file (validated first; nothing changes if it is bad)')
    .action(async (file: string, _opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new FacegateError(`${file}: cannot read as JSON (${(err as Error).message.split('\n')[0]})`);
      }
      const { parseDbFile } = await import('../../store/migrations.ts');
      const parsed = parseDbFile(raw);
      if (!parsed.ok) throw new FacegateError(`${file}: not a facegate database export (${parsed.error})`);
      const target = await openDb(cmd, { create: true });
      for (const identity of parsed.data.identities) {
        for (const badge of identity.badges) {
          const holder = target.findByBadge(badge);
          if (holder && holder.id !== identity.id) {
            throw new FacegateError(
              `${file}: badge of "${identity.id}" already belongs to "${holder.id}"; nothing imported`,
            );
          }
        }
      }
      // Each one becomes newer than what the database holds (a deleted id comes back as a new identity).
      for (const identity of parsed.data.identities) await target.put(identity);
      output(
        flags,
        { imported: parsed.data.identities.length },
        `imported ${parsed.data.identities.length} identities from ${file}`,
      );
    });
}
