/**
 * Badge reads from `<base>/badge`, for readers bridged to MQTT. The topic exists only when `badge.sources` lists
 * `mqtt`; a read must be signed like a command (`"cmd":"badge"`, bound to this kiosk) unless
 * `mqtt.badgeInput.requireSigned` is off, and passes the same normalisation as every other reader — `"1"` and
 * `"12-34 ab"` used to be accepted as they came.
 */

import { maskBadge } from '../bus/event-bus.ts';
import { type BadgeFormat, normaliseBadge } from '../hardware/badge/normalise.ts';
import type { CommandVerifier } from './auth.ts';
import { badgeSchema, checkSchema, type PayloadLimits, parseJsonObject } from './validate.ts';

/** A badge payload is a few hundred bytes even signed with Ed25519; anything bigger is refused before the scan. */
export const BADGE_LIMITS: PayloadLimits = { maxBytes: 1024, maxDepth: 2, maxItems: 16 };

export interface BadgeInputOptions {
  requireSigned: boolean;
  format: BadgeFormat;
}

export type BadgeOutcome =
  | { ok: true; badge: string }
  | { ok: false; refused: 'malformed' | 'rejected'; reason: string; masked?: string };

/** Payload → a normalised badge, or why not. The signature is verified over the payload as sent, not the normalised badge. */
export async function readMqttBadge(
  payload: Uint8Array,
  opts: BadgeInputOptions,
  verifier: CommandVerifier | null,
): Promise<BadgeOutcome> {
  const parsed = parseJsonObject(payload, BADGE_LIMITS);
  if (!parsed.ok) return { ok: false, refused: 'malformed', reason: parsed.error };
  const checked = checkSchema(badgeSchema, parsed.value);
  if (!checked.ok) return { ok: false, refused: 'malformed', reason: checked.error };
  const badge = normaliseBadge(checked.value.badge, opts.format);
  if (badge === null) return { ok: false, refused: 'malformed', reason: 'badge does not match badge.format' };
  if (opts.requireSigned) {
    const verdict = verifier
      ? await verifier.verify('badge', parsed.value)
      : { ok: false as const, reason: 'not started' };
    if (!verdict.ok) return { ok: false, refused: 'rejected', reason: verdict.reason, masked: maskBadge(badge) };
  }
  return { ok: true, badge };
}
