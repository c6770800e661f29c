/**
 * Who may enter when and where: an identity's access groups, each naming schedules (open when any is) and
 * optionally the kiosks it applies to. `canEnter` never throws; anything it cannot resolve fails secure.
 *
 * - No groups: today's behaviour (allowed; validity dates are checked elsewhere), unless `requireGroup`.
 * - Groups only grant. A group the identity names that does not exist (deleted, or not yet synced to this kiosk)
 *   grants nothing — and never turns the identity into a "no group" one, which would let it in at any time.
 * - Denied with the most useful reason, configuration faults first (they need an admin): `rule-error` (a bad time
 *   zone, a missing holiday calendar or holiday schedule), `unknown-schedule`, then `outside-schedule`,
 *   `not-at-this-kiosk`, `unknown-group`. `detail` says, group by group, why none granted.
 */
import { errorMessage } from '../util/errors.ts';
import { type AccessRules, holidayCalendarsFrom } from './records.ts';
import { compileSchedules, explainAt, type HolidayCalendars, type Schedule } from './schedule.ts';
import { checkTimeZone } from './time-zone.ts';

export type AccessReason =
  | 'ok'
  | 'no-group'
  | 'outside-schedule'
  | 'not-at-this-kiosk'
  | 'unknown-group'
  | 'unknown-schedule'
  | 'rule-error';

export interface AccessGroup {
  name: string;
  schedules: readonly string[];
  /** Absent or empty: every kiosk. */
  kiosks?: readonly string[] | undefined;
}

export interface CanEnterInput {
  /** The identity's groups (absent or empty: no group). */
  identityGroups: readonly string[] | undefined;
  groups: ReadonlyMap<string, AccessGroup>;
  schedules: ReadonlyMap<string, Schedule>;
  holidays: HolidayCalendars;
  /** This kiosk's id; null when it has none (then groups limited to kiosks do not apply). */
  kioskId: string | null;
  /** `door.requireGroup`: an identity with no group is denied. */
  requireGroup: boolean;
  /** Epoch ms. */
  now: number;
  /** The kiosk's IANA zone (`door.timeZone`). */
  timeZone: string;
}

export interface AccessVerdict {
  allowed: boolean;
  reason: AccessReason;
  /** One line for logs and `facegate db show` ("can enter now: no (…)"); names no badge, vector or image. */
  detail: string;
  /** The group and schedule that granted, when one did. */
  group: string | null;
  schedule: string | null;
}

/** Denial reasons, most useful first. */
const PRECEDENCE: readonly AccessReason[] = [
  'rule-error',
  'unknown-schedule',
  'outside-schedule',
  'not-at-this-kiosk',
  'unknown-group',
];
const MAX_DETAIL = 500;

interface GroupOutcome {
  reason: AccessReason;
  detail: string;
  schedule: string | null;
}

function closedDetail(schedule: Schedule, state: ReturnType<typeof explainAt>): string {
  if (state.problem) return `schedule "${schedule.name}" closed (${state.problem})`;
  if (state.holiday)
    return `schedule "${schedule.name}" closed (holiday ${state.holiday.date} in "${state.holiday.calendar}")`;
  return `schedule "${schedule.name}" closed`;
}

function judgeGroup(name: string, input: CanEnterInput): GroupOutcome {
  const group = input.groups.get(name);
  if (!group) return { reason: 'unknown-group', detail: `group "${name}": unknown group`, schedule: null };
  if (group.kiosks && group.kiosks.length > 0 && (input.kioskId === null || !group.kiosks.includes(input.kioskId))) {
    return { reason: 'not-at-this-kiosk', detail: `group "${name}": not at this kiosk`, schedule: null };
  }
  const found: GroupOutcome[] = [];
  for (const scheduleName of group.schedules) {
    const schedule = input.schedules.get(scheduleName);
    if (!schedule) {
      found.push({ reason: 'unknown-schedule', detail: `unknown schedule "${scheduleName}"`, schedule: scheduleName });
      continue;
    }
    const state = explainAt(schedule, input.now, input.timeZone, input.holidays);
    if (state.open) {
      return {
        reason: 'ok',
        detail: `group "${name}", schedule "${schedule.name}" (${state.window})`,
        schedule: schedule.name,
      };
    }
    const reason = state.problem ? 'rule-error' : 'outside-schedule';
    found.push({ reason, detail: closedDetail(schedule, state), schedule: schedule.name });
  }
  const worst = pickDenial(found);
  return { reason: worst.reason, detail: `group "${name}": ${found.map((f) => f.detail).join(', ')}`, schedule: null };
}

function pickDenial(outcomes: readonly GroupOutcome[]): GroupOutcome {
  const rank = (o: GroupOutcome) => PRECEDENCE.indexOf(o.reason);
  return outcomes.reduce((best, o) => (rank(o) < rank(best) ? o : best));
}

const verdict = (
  allowed: boolean,
  reason: AccessReason,
  detail: string,
  group: string | null = null,
  schedule: string | null = null,
): AccessVerdict => ({
  allowed,
  reason,
  detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail,
  group,
  schedule,
});

/** May this identity enter here, now? Never throws: an internal failure is a `rule-error` denial. */
export function canEnter(input: CanEnterInput): AccessVerdict {
  const names = [...new Set(input.identityGroups ?? [])];
  if (names.length === 0) {
    return input.requireGroup
      ? verdict(false, 'no-group', 'no access group, and door.requireGroup is on')
      : verdict(true, 'ok', 'no access group: not limited by schedule');
  }
  try {
    checkTimeZone(input.timeZone);
    const outcomes: GroupOutcome[] = [];
    for (const name of names) {
      const outcome = judgeGroup(name, input);
      if (outcome.reason === 'ok') return verdict(true, 'ok', outcome.detail, name, outcome.schedule);
      outcomes.push(outcome);
    }
    return verdict(false, pickDenial(outcomes).reason, outcomes.map((o) => o.detail).join('; '));
  } catch (err) {
    return verdict(false, 'rule-error', errorMessage(err));
  }
}

/** Everything `canEnter` needs from the stored rules, compiled once per change of the rule set. */
export interface CompiledRules {
  groups: Map<string, AccessGroup>;
  schedules: Map<string, Schedule>;
  holidays: HolidayCalendars;
  /** Stored schedules that did not compile (left out: groups naming them deny). */
  problems: string[];
}

export function compileRules(rules: Pick<AccessRules, 'schedules' | 'holidayCalendars' | 'groups'>): CompiledRules {
  const { schedules, problems } = compileSchedules(rules.schedules);
  return {
    groups: new Map(rules.groups.map((g) => [g.name, g])),
    schedules,
    holidays: holidayCalendarsFrom(rules.holidayCalendars),
    problems,
  };
}
