/**
 * The door flow's access-rule decision (issue 14): once a face has matched (or a badge decided, in badge mode),
 * may this identity enter here, now? `canEnter` (src/access/rules.ts) against the rules stored beside the
 * identities, read in `door.timeZone`. The compiled rules are cached until the database holds a different rule set
 * (a CLI change, an MQTT command, fleet sync). Never throws: anything it cannot resolve is a denial (fail secure).
 */

import type { Logger } from 'pino';
import { type AccessVerdict, type CompiledRules, canEnter, compileRules } from '../access/rules.ts';
import type { DoorConfig } from '../config/sections/door.ts';
import type { FaceDb } from '../store/face-db.ts';
import type { AccessRules, Identity } from '../store/schema.ts';
import { errorMessage } from '../util/errors.ts';
import type { Claim } from './claim.ts';

export type AccessCheckSettings = Pick<DoorConfig, 'timeZone' | 'requireGroup'>;

/**
 * The door flow's hook: null when the claim's identity may enter here and now, else the denial reason. A face
 * refused this way counts toward its track's lockout like a refused face (the claim's last face becomes refused).
 */
export function ruleDenial(access: AccessCheck, claim: Claim, now: number, logger: Logger): string | null {
  if (!claim.identity) return null;
  const verdict = access.verdict(claim.identity, now);
  if (verdict.allowed) return null;
  logger.info(
    { event: 'access-rules', identityId: claim.identity.id, reason: verdict.reason, detail: verdict.detail },
    `access rules refuse: ${verdict.detail}`,
  );
  if (claim.badge === null) claim.lastRefused = claim.lastDescriptor;
  return verdict.reason;
}

/**
 * What the screen may know of a denial: `locked-out`, `outside-schedule` (a verified person outside their
 * schedule: the face already matched, so no oracle) or a neutral `denied` for every other reason.
 */
export function screenReason(reason: string, lockedNow: boolean): 'locked-out' | 'outside-schedule' | 'denied' {
  if (lockedNow || reason === 'locked-out') return 'locked-out';
  return reason === 'outside-schedule' ? 'outside-schedule' : 'denied';
}

export class AccessCheck {
  private compiledFrom: Readonly<AccessRules> | null = null;
  private compiled: CompiledRules | null = null;

  constructor(
    private readonly db: Pick<FaceDb, 'rules'>,
    private readonly settings: AccessCheckSettings,
    private readonly kioskId: string | null,
  ) {}

  /** The stored rules, compiled once per rule set. */
  rules(): CompiledRules {
    const stored = this.db.rules();
    if (this.compiled === null || stored !== this.compiledFrom) {
      this.compiled = compileRules(stored);
      this.compiledFrom = stored;
    }
    return this.compiled;
  }

  verdict(identity: Pick<Identity, 'groups'>, now: number): AccessVerdict {
    try {
      const rules = this.rules();
      return canEnter({
        identityGroups: identity.groups,
        groups: rules.groups,
        schedules: rules.schedules,
        holidays: rules.holidays,
        kioskId: this.kioskId,
        requireGroup: this.settings.requireGroup,
        now,
        timeZone: this.settings.timeZone,
      });
    } catch (err) {
      return { allowed: false, reason: 'rule-error', detail: errorMessage(err), group: null, schedule: null };
    }
  }
}
