/**
 * The audit feature module (issue 14): appends every access decision, alarm, scheduled-unlock hold and admin
 * command to the local access log in `<data dir>/audit/` (src/store/audit-log.ts: durable, rotated, retained by
 * `audit.maxDays` / `audit.maxMB`), and removes a deleted person's names from it. Who/what/when/result/reason/kiosk
 * only: badges masked (src/util/badge-mask.ts), never a face vector or an image — the record type has no field for
 * them. A record the log refuses, or a write that fails (disk full), is one warning; the door never waits for it.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { AccessEvent, AlarmEvent, EventBus } from '../bus/event-bus.ts';
import type { DaemonModule, Feature } from '../bus/module.ts';
import type { AuditConfig } from '../config/sections/audit.ts';
import { AuditLog } from '../store/audit-log.ts';
import type { AuditEntry } from '../store/audit-record.ts';
import { maskBadge } from '../util/badge-mask.ts';
import type { Clock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';

export const AUDIT_DIR = 'audit';

export interface AuditModuleOptions {
  bus: EventBus;
  logger: Logger;
  dataDir: string;
  kioskId: string;
  settings: Pick<AuditConfig, 'maxDays' | 'maxMB'>;
  clock?: Clock;
}

/** The access log directory of a data directory (the CLI reads and appends to the same one). */
export function auditDir(dataDir: string): string {
  return path.join(dataDir, AUDIT_DIR);
}

export function accessEntry(event: AccessEvent, kiosk: string): AuditEntry {
  return {
    kind: 'access',
    what: event.mode,
    result: event.decision,
    reason: event.reason,
    kiosk,
    identityId: event.identityId,
    name: event.identityName,
    // Masking a masked badge changes nothing; a full one (badge.logFull) is masked here: the log never holds it.
    badge: event.badge === null ? null : maskBadge(event.badge),
    time: Date.parse(event.time),
  };
}

export function alarmEntry(event: AlarmEvent, kiosk: string): AuditEntry {
  return {
    kind: 'alarm',
    what: event.kind,
    result: 'raised',
    reason: event.kind,
    kiosk,
    badge: event.badge ? maskBadge(event.badge) : null,
    detail: event.detail.slice(0, 500),
    time: Date.parse(event.time),
  };
}

export class AuditModule implements DaemonModule {
  readonly name = 'audit';
  private log: AuditLog | null = null;
  private offs: Array<() => void> = [];

  constructor(private readonly opts: AuditModuleOptions) {}

  async start(): Promise<void> {
    const { bus, logger, kioskId: kiosk } = this.opts;
    this.log = await AuditLog.open({
      dir: auditDir(this.opts.dataDir),
      maxDays: this.opts.settings.maxDays,
      maxMB: this.opts.settings.maxMB,
      clock: this.opts.clock,
      onError: (err) =>
        logger.warn({ event: 'audit-error', error: errorMessage(err) }, 'access log: background work failed'),
    });
    this.offs = [
      bus.on('access', (e) => this.append(accessEntry(e, kiosk)), this.name),
      bus.on('alarm', (e) => this.append(alarmEntry(e, kiosk)), this.name),
      bus.on(
        'doorHold',
        (e) =>
          this.append({
            kind: 'admin',
            what: e.active ? 'door.hold-start' : 'door.hold-end',
            result: 'ok',
            reason: e.reason,
            kiosk,
            by: 'schedule',
            detail: e.schedule ? `schedule ${e.schedule}` : '',
            time: Date.parse(e.time),
          }),
        this.name,
      ),
      bus.on(
        'adminAction',
        (e) =>
          this.append({
            kind: 'admin',
            what: `mqtt.${e.action}`,
            result: e.ok ? 'ok' : 'failed',
            kiosk,
            identityId: e.identityId,
            by: e.by,
            detail: e.detail,
          }),
        this.name,
      ),
      bus.on(
        'identitiesChanged',
        ({ id, change }) => {
          if (change === 'deleted') void this.redact(id);
        },
        this.name,
      ),
    ];
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    this.offs = [];
    const log = this.log;
    this.log = null;
    await log?.close();
  }

  private append(entry: AuditEntry): void {
    if (!this.log) return;
    try {
      this.log.append(entry);
    } catch (err) {
      this.opts.logger.warn(
        { event: 'audit-error', kind: entry.kind, error: errorMessage(err) },
        'access log: record not written',
      );
    }
  }

  /** The record of the door opening stays; the person's id, name and badge go (privacy on delete). */
  private async redact(id: string): Promise<void> {
    try {
      const count = await this.log?.redactIdentity(id);
      this.opts.logger.info({ event: 'audit-redacted', records: count ?? 0 }, 'access log: deleted person removed');
    } catch (err) {
      this.opts.logger.warn({ event: 'audit-error', error: errorMessage(err) }, 'access log: redaction failed');
    }
  }
}

/** The daemon's factory. */
export function auditModule(
  ctx: { bus: EventBus; logger: Logger; dataDir: string; kioskId: string },
  settings: Pick<AuditConfig, 'maxDays' | 'maxMB'>,
): AuditModule {
  return new AuditModule({ bus: ctx.bus, logger: ctx.logger, dataDir: ctx.dataDir, kioskId: ctx.kioskId, settings });
}

/** The access log feature for compose's list: first, so it records what every other feature does. */
export const auditFeature: Feature = {
  name: 'audit',
  enabled: (config) => config.audit.enabled,
  create: (ctx, config) => auditModule(ctx, config.audit),
};
