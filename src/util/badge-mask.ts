/**
 * Badge masking for logs, events and the audit trail: a masked badge shows at most half of it and never more than its last four characters, so a
 * guard can tell badges apart without the record holding the number. `MaskedBadge` is a branded string that only
 * `maskBadge` makes, so a record type asking for one cannot be handed a full number by mistake.
 */
export type MaskedBadge = string & { readonly __maskedBadge: true };

/**
 * At most half of the badge and never more than 4 characters, the rest as `*` (`12345678` → `****5678`,
 * `12345` → `***45`, `1` → `*`), so a guard can tell badges apart without a record holding enough of a short
 * number to guess it.
 */
export function maskBadge(badge: string): MaskedBadge {
  const shown = Math.min(4, Math.floor(badge.length / 2));
  return `${'*'.repeat(badge.length - shown)}${badge.slice(badge.length - shown)}` as MaskedBadge;
}

/** The shape `maskBadge` produces (at least one star, at most four characters shown), for checks at run time. */
export const MASKED_BADGE = /^\*{1,64}[^*]{0,4}$/;
