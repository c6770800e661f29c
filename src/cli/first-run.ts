/**
 * The one line `npm start` says to a person at a terminal once the kiosk runs: how to present a badge without a
 * reader (type it on stdin) and where the kiosk page is. Nothing on a service (no terminal): journald needs no tips.
 */

export interface FirstRunState {
  /** stdin and stdout are both terminals: a person started it by hand. */
  terminal: boolean;
  /** `badge.sources` includes `stdin`. */
  stdinBadges: boolean;
  /** The kiosk page's address, null when the page is off or failed to listen. */
  displayUrl: string | null;
}

export function firstRunHint(state: FirstRunState): string | null {
  if (!state.terminal) return null;
  const parts: string[] = [];
  if (state.stdinBadges) parts.push('type a badge number and press Enter to present it');
  if (state.displayUrl) parts.push(`kiosk page: ${state.displayUrl}`);
  if (parts.length === 0) return null;
  return `ready: ${parts.join('; ')} (Ctrl-C stops)`;
}
