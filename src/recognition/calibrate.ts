/**
 * Error rates and thresholds from labelled scores, for `facegate calibrate` and the accuracy benchmarks. Pure.
 *
 * Two decision rules, the product's own:
 * - verification: distances, a pair is ACCEPTED when `distance < threshold` (verification.ts's isMatch);
 *   FAR = impostor pairs accepted / impostor pairs, FRR = genuine pairs refused / genuine pairs.
 * - presentation-attack detection (ISO/IEC 30107-3 names): P(real) scores, a presentation counts as LIVE when
 *   `score >= threshold`; APCER = attacks accepted as live / attacks, BPCER = bona fide refused / bona fide.
 *
 * Exact, no interpolation: the rates only change at score values, so every achievable operating point is one of
 * the thresholds "each distinct score, and +Infinity"; under either rule the value v stands for the whole interval
 * (u, v] from the next lower distinct score u (reported as `from`). Each reported threshold is that attained
 * value (a sample score), so applying it reproduces the reported rates exactly, ties included; an operator who
 * wants a margin picks inside (from, threshold]. +Infinity means "accept every distance" (verification) or "refuse
 * everything" (PAD). A target is met when count / total ≤ target.
 * The EER is the smallest rate r for which one threshold gives both error rates ≤ r (min over thresholds of
 * max(FAR, FRR)): an interpolated crossing can name a rate no threshold achieves, which on small sets matters.
 * Ties for the EER go to the smaller sum, then to the stricter threshold (fewer accepted).
 */

type Scores = ArrayLike<number>;
type Rule = 'below' | 'at-least';

function sortedCopy(values: Scores, label: string): Float64Array {
  if (values.length === 0) throw new Error(`${label}: no scores`);
  const out = Float64Array.from(values);
  for (const v of out) if (!Number.isFinite(v)) throw new Error(`${label}: ${v} is not a finite score`);
  return out.sort();
}

function checkRate(rate: number, label: string): void {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`${label} ${rate} must be a rate from 0 to 1`);
}

/** How many of `sorted` are < t. */
function countBelow(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Generic operating point: `accept` is the set that should be accepted, `refuse` the one that should not. */
interface Point {
  threshold: number;
  /** Every threshold in (from, threshold] gives these rates; -Infinity when no score lies below. */
  from: number;
  /** Should-refuse scores accepted. */
  falseAccepts: number;
  /** Should-accept scores refused. */
  falseRejects: number;
  acceptTotal: number;
  refuseTotal: number;
}

class ScoreSets {
  readonly accept: Float64Array;
  readonly refuse: Float64Array;
  readonly rule: Rule;

  constructor(accept: Scores, refuse: Scores, rule: Rule, labels: [string, string]) {
    this.accept = sortedCopy(accept, labels[0]);
    this.refuse = sortedCopy(refuse, labels[1]);
    this.rule = rule;
  }

  private accepted(sorted: Float64Array, t: number): number {
    const below = countBelow(sorted, t);
    return this.rule === 'below' ? below : sorted.length - below;
  }

  at(threshold: number): Point {
    const a = countBelow(this.accept, threshold);
    const r = countBelow(this.refuse, threshold);
    const from = Math.max(
      a > 0 ? this.accept[a - 1]! : Number.NEGATIVE_INFINITY,
      r > 0 ? this.refuse[r - 1]! : Number.NEGATIVE_INFINITY,
    );
    return {
      threshold,
      from,
      falseAccepts: this.accepted(this.refuse, threshold),
      falseRejects: this.accept.length - this.accepted(this.accept, threshold),
      acceptTotal: this.accept.length,
      refuseTotal: this.refuse.length,
    };
  }

  /** Every distinct operating point, from the strictest threshold to the most lenient. */
  roc(): Point[] {
    const values = new Set<number>([...this.accept, ...this.refuse, Number.POSITIVE_INFINITY]);
    const thresholds = [...values].sort((a, b) => a - b);
    // `<` accepts more as the threshold grows; `>=` accepts fewer.
    if (this.rule === 'at-least') thresholds.reverse();
    return thresholds.map((t) => this.at(t));
  }
}

const far = (p: Point) => p.falseAccepts / p.refuseTotal;
const frr = (p: Point) => p.falseRejects / p.acceptTotal;

function equalError(sets: ScoreSets): Point {
  let best: Point | undefined;
  let bestMax = Number.POSITIVE_INFINITY;
  let bestSum = Number.POSITIVE_INFINITY;
  for (const p of sets.roc()) {
    const m = Math.max(far(p), frr(p));
    const s = far(p) + frr(p);
    if (m < bestMax || (m === bestMax && s < bestSum)) {
      best = p;
      bestMax = m;
      bestSum = s;
    }
  }
  return best!;
}

/** The most lenient threshold whose false-accept rate is ≤ `maxFalseAccept`: the fewest false rejects under it. */
function lenientWithin(sets: ScoreSets, maxFalseAccept: number): Point {
  let chosen: Point | undefined;
  for (const p of sets.roc()) if (far(p) <= maxFalseAccept) chosen = p;
  // The strictest point accepts nothing of the refuse set (both rules), so one always qualifies.
  return chosen!;
}

/** The strictest threshold whose false-reject rate is ≤ `maxFalseReject`: the fewest false accepts under it. */
function strictWithin(sets: ScoreSets, maxFalseReject: number): Point {
  for (const p of sets.roc()) if (frr(p) <= maxFalseReject) return p;
  throw new Error('unreachable: the most lenient threshold refuses nothing');
}

// ---- verification: distances, accept when distance < threshold ----

export interface VerificationPoint {
  threshold: number;
  /** Every threshold in (from, threshold] gives the same rates. */
  from: number;
  far: number;
  frr: number;
  /** Impostor pairs accepted / all impostor pairs. */
  falseAccepts: number;
  impostorPairs: number;
  /** Genuine pairs refused / all genuine pairs. */
  falseRejects: number;
  genuinePairs: number;
}

export interface EqualErrorRate extends VerificationPoint {
  /** max(FAR, FRR) at `threshold`, the smallest over all thresholds. */
  eer: number;
}

const verificationSets = (genuine: Scores, impostor: Scores) =>
  new ScoreSets(genuine, impostor, 'below', ['genuine distances', 'impostor distances']);

function asVerification(p: Point): VerificationPoint {
  return {
    threshold: p.threshold,
    from: p.from,
    far: far(p),
    frr: frr(p),
    falseAccepts: p.falseAccepts,
    impostorPairs: p.refuseTotal,
    falseRejects: p.falseRejects,
    genuinePairs: p.acceptTotal,
  };
}

/** FAR and FRR when pairs with `distance < threshold` are accepted. */
export function verificationRates(genuine: Scores, impostor: Scores, threshold: number): VerificationPoint {
  if (Number.isNaN(threshold)) throw new Error('threshold is not a number');
  return asVerification(verificationSets(genuine, impostor).at(threshold));
}

/** Every distinct (FAR, FRR) point, by ascending threshold (FAR rising, FRR falling). */
export function verificationRoc(genuine: Scores, impostor: Scores): VerificationPoint[] {
  return verificationSets(genuine, impostor).roc().map(asVerification);
}

export function equalErrorRate(genuine: Scores, impostor: Scores): EqualErrorRate {
  const p = asVerification(equalError(verificationSets(genuine, impostor)));
  return { ...p, eer: Math.max(p.far, p.frr) };
}

/** The lowest FAR with FRR ≤ `maxFrr` (e.g. "impostors accepted where ≤ 2 % of genuine are refused"). */
export function farAtFrr(genuine: Scores, impostor: Scores, maxFrr: number): VerificationPoint {
  checkRate(maxFrr, 'FRR target');
  return asVerification(strictWithin(verificationSets(genuine, impostor), maxFrr));
}

/** The lowest FRR with FAR ≤ `maxFar`; its threshold is the most lenient one meeting that FAR. */
export function frrAtFar(genuine: Scores, impostor: Scores, maxFar: number): VerificationPoint {
  checkRate(maxFar, 'FAR target');
  return asVerification(lenientWithin(verificationSets(genuine, impostor), maxFar));
}

/** The most lenient threshold whose FAR on these impostor distances is ≤ `targetFar` (needs no genuine pairs). */
export function thresholdForFar(impostor: Scores, targetFar: number): number {
  checkRate(targetFar, 'FAR target');
  const sorted = sortedCopy(impostor, 'impostor distances');
  // Accepting k impostors is allowed while k / n ≤ target; the (k+1)-th smallest distance must then be refused.
  let k = 0;
  while (k < sorted.length && (k + 1) / sorted.length <= targetFar) k++;
  return k >= sorted.length ? Number.POSITIVE_INFINITY : sorted[k]!;
}

// ---- presentation-attack detection: P(real) scores, live when score >= threshold ----

export interface PadPoint {
  threshold: number;
  /** Every threshold in (from, threshold] gives the same rates. */
  from: number;
  /** Attacks accepted as live / all attacks. */
  apcer: number;
  attacksAccepted: number;
  attacks: number;
  /** Bona-fide presentations refused / all bona fide. */
  bpcer: number;
  bonaFideRefused: number;
  bonaFide: number;
}

const padSets = (bonaFide: Scores, attack: Scores) =>
  new ScoreSets(bonaFide, attack, 'at-least', ['bona-fide scores', 'attack scores']);

function asPad(p: Point): PadPoint {
  return {
    threshold: p.threshold,
    from: p.from,
    apcer: far(p),
    attacksAccepted: p.falseAccepts,
    attacks: p.refuseTotal,
    bpcer: frr(p),
    bonaFideRefused: p.falseRejects,
    bonaFide: p.acceptTotal,
  };
}

/** APCER and BPCER when scores `>= threshold` count as live. */
export function padRates(bonaFide: Scores, attack: Scores, threshold: number): PadPoint {
  if (Number.isNaN(threshold)) throw new Error('threshold is not a number');
  return asPad(padSets(bonaFide, attack).at(threshold));
}

/** Every distinct (APCER, BPCER) point, by descending threshold (APCER rising, BPCER falling). */
export function padRoc(bonaFide: Scores, attack: Scores): PadPoint[] {
  return padSets(bonaFide, attack).roc().map(asPad);
}

/** The threshold meeting BPCER ≤ `maxBpcer` with the lowest APCER (the highest such threshold). */
export function thresholdForBpcer(bonaFide: Scores, attack: Scores, maxBpcer: number): PadPoint {
  checkRate(maxBpcer, 'BPCER target');
  return asPad(strictWithin(padSets(bonaFide, attack), maxBpcer));
}

/** Smallest max(APCER, BPCER) over thresholds, as equalErrorRate. */
export function padEqualErrorRate(bonaFide: Scores, attack: Scores): PadPoint & { eer: number } {
  const p = asPad(equalError(padSets(bonaFide, attack)));
  return { ...p, eer: Math.max(p.apcer, p.bpcer) };
}
