/** Badge numbers in one canonical form, whatever reader typed them. */
export interface BadgeFormat {
  /** `digits` (default) strips everything but 0-9; `alphanumeric` keeps A-Z/0-9 and upper-cases (hex card ids). */
  charset?: 'digits' | 'alphanumeric';
  /** Shorter or longer reads are rejected as misreads (defaults 4 and 32). */
  minLength?: number;
  maxLength?: number;
}

/** The canonical form of a badge read, or null when it cannot be a badge under `format`. */
export function normaliseBadge(raw: string, format: BadgeFormat = {}): string | null {
  const trimmed = raw.trim();
  const kept =
    format.charset === 'alphanumeric' ? trimmed.replace(/[^A-Za-z0-9]/g, '').toUpperCase() : trimmed.replace(/\D/g, '');
  const min = format.minLength ?? 4;
  const max = format.maxLength ?? 32;
  if (kept.length < min || kept.length > max) return null;
  return kept;
}
