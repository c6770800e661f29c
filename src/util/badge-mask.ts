/**
 * Badge masking for logs, events and the audit trail: a masked badge keeps at most the last four characters, so a
 * guard can tell badges apart without the record holding the number. `MaskedBadge` is a branded string that only
 * `maskBadge` makes, so a record type asking for one cannot be handed a full number by mistake.
 */
export type MaskedBadge = string & { readonly __maskedBadge: true };

/** Keeps the last four characters (`****1234`); a badge of four or fewer characters becomes all stars. */
export function maskBadge(badge: string, keep = 4): MaskedBadge {
  if (badge.length <= keep) return '*'.repeat(badge.length) as MaskedBadge;
  return `${'*'.repeat(Math.min(4, badge.length - keep))}${badge.slice(-keep)}` as MaskedBadge;
}

/** The shape `maskBadge` produces (at least one star, at most four characters shown), for checks at run time. */
export const MASKED_BADGE = /^\*{1,64}[^*]{0,4}$/;
