import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  equalErrorRate,
  farAtFrr,
  frrAtFar,
  padEqualErrorRate,
  padRates,
  padRoc,
  thresholdForBpcer,
  thresholdForFar,
  verificationRates,
  verificationRoc,
} from '../../src/recognition/calibrate.ts';
import { isMatch } from '../../src/recognition/verification.ts';
import { seededRandom } from '../../src/util/random.ts';

// Hand-computed: accept when distance < t.
//   t    genuine accepted  FRR    impostors accepted  FAR
//   0.2  -                 4/4    -                   0
//   0.4  0.2               3/4    -  (0.4 refused)    0
//   0.6  0.2 0.4 0.4       1/4    0.4                 1/5
//   0.7  all               0      0.4                 1/5
//   0.9  all               0      0.4 0.7             2/5
//   1.0  all               0      0.4 0.7 0.9 0.9     4/5
//   Inf  all               0      all                 1
const GENUINE = [0.4, 0.2, 0.6, 0.4];
const IMPOSTOR = [0.9, 0.4, 1.0, 0.7, 0.9];

test('verification rates: accept strictly below the threshold, ties at the threshold are refused', () => {
  const at04 = verificationRates(GENUINE, IMPOSTOR, 0.4);
  assert.deepEqual(
    { far: at04.far, frr: at04.frr, fa: at04.falseAccepts, fr: at04.falseRejects },
    { far: 0, frr: 0.75, fa: 0, fr: 3 },
  );
  assert.equal(at04.genuinePairs, 4);
  assert.equal(at04.impostorPairs, 5);
  // The same rule as the product's verify.
  assert.equal(isMatch(0.4, 0.4), false);
  const at06 = verificationRates(GENUINE, IMPOSTOR, 0.6);
  assert.deepEqual([at06.far, at06.frr], [0.2, 0.25]);
  assert.deepEqual([verificationRates(GENUINE, IMPOSTOR, 0.6000001).frr], [0]);
});

test('verification ROC: one point per distinct operating point, exact counts, thresholds are sample values', () => {
  const roc = verificationRoc(GENUINE, IMPOSTOR).map((p) => [p.from, p.threshold, p.falseAccepts, p.falseRejects]);
  assert.deepEqual(roc, [
    [Number.NEGATIVE_INFINITY, 0.2, 0, 4],
    [0.2, 0.4, 0, 3],
    [0.4, 0.6, 1, 1],
    [0.6, 0.7, 1, 0],
    [0.7, 0.9, 2, 0],
    [0.9, 1.0, 4, 0],
    [1.0, Number.POSITIVE_INFINITY, 5, 0],
  ]);
  // Any threshold inside (from, threshold] gives the same rates.
  assert.deepEqual(verificationRates(GENUINE, IMPOSTOR, 0.65).far, 0.2);
  assert.equal(verificationRates(GENUINE, IMPOSTOR, 0.65).from, 0.6);
});

test('EER: the smallest max(FAR, FRR) any threshold achieves, with its threshold', () => {
  const e = equalErrorRate(GENUINE, IMPOSTOR);
  assert.deepEqual([e.eer, e.threshold, e.far, e.frr], [0.2, 0.7, 0.2, 0]);
  // Separated sets: 0, at the strictest threshold that separates them (the smallest impostor distance).
  const sep = equalErrorRate([0.1, 0.2], [0.5, 0.6]);
  assert.deepEqual([sep.eer, sep.threshold], [0, 0.5]);
  // Identical scores cannot be separated: no threshold gets both rates below 1 (an interpolated EER would say 0.5).
  const same = equalErrorRate([0.5], [0.5]);
  assert.deepEqual([same.eer, same.threshold], [1, 0.5]);
  // Ties: genuine 0.1 0.3, impostors 0.2 0.5 — thresholds 0.2 (FAR 0, FRR 0.5), 0.3 (0.5, 0.5) and 0.5 (0.5, 0)
  // all give max 0.5; the smaller sum drops 0.3, and of 0.2 and 0.5 the stricter (0.2, fewer accepted) wins.
  const tie = equalErrorRate([0.1, 0.3], [0.2, 0.5]);
  assert.deepEqual([tie.eer, tie.far, tie.frr, tie.threshold], [0.5, 0, 0.5, 0.2]);
});

test('FAR at FRR ≤ x and FRR at FAR ≤ y pick the best threshold meeting the target', () => {
  assert.deepEqual(pick(farAtFrr(GENUINE, IMPOSTOR, 0.25)), [0.6, 0.2, 0.25]);
  assert.deepEqual(pick(farAtFrr(GENUINE, IMPOSTOR, 0.3)), [0.6, 0.2, 0.25]);
  assert.deepEqual(pick(farAtFrr(GENUINE, IMPOSTOR, 0)), [0.7, 0.2, 0]);
  assert.deepEqual(pick(farAtFrr(GENUINE, IMPOSTOR, 1)), [0.2, 0, 1]);
  assert.deepEqual(pick(frrAtFar(GENUINE, IMPOSTOR, 0)), [0.4, 0, 0.75]);
  assert.deepEqual(pick(frrAtFar(GENUINE, IMPOSTOR, 0.2)), [0.7, 0.2, 0]);
  assert.deepEqual(pick(frrAtFar(GENUINE, IMPOSTOR, 0.5)), [0.9, 0.4, 0]);
  assert.deepEqual(pick(frrAtFar(GENUINE, IMPOSTOR, 1)), [Number.POSITIVE_INFINITY, 1, 0]);
});

function pick(p: { threshold: number; far: number; frr: number }) {
  return [p.threshold, p.far, p.frr];
}

test('threshold for a target FAR: the most lenient one meeting it, tied impostors included', () => {
  assert.equal(thresholdForFar(IMPOSTOR, 0), 0.4);
  assert.equal(thresholdForFar(IMPOSTOR, 0.2), 0.7);
  assert.equal(thresholdForFar(IMPOSTOR, 0.4), 0.9);
  // 3/5 allowed, but the 3rd and 4th impostors tie at 0.9: accepting one accepts both, so only 2 can be.
  assert.equal(thresholdForFar(IMPOSTOR, 0.6), 0.9);
  assert.equal(verificationRates(GENUINE, IMPOSTOR, 0.9).far, 0.4);
  assert.equal(thresholdForFar(IMPOSTOR, 1), Number.POSITIVE_INFINITY);
  // Agrees with the ROC's choice for every target.
  for (const target of [0, 0.1, 0.2, 0.39, 0.4, 0.6, 0.8, 0.99, 1]) {
    assert.equal(thresholdForFar(IMPOSTOR, target), frrAtFar(GENUINE, IMPOSTOR, target).threshold, `${target}`);
  }
  // Rates compare as count / total ≤ target: 29 of 100 meets 0.29 (0.29 · 100 is 28.999999999999996 in floats).
  const hundred = Array.from({ length: 100 }, (_, i) => i);
  assert.equal(thresholdForFar(hundred, 0.29), 29);
});

// Hand-computed PAD: live when P(real) >= t.
//   t    bona fide live      BPCER  attacks live   APCER
//   Inf  -                   4/4    -              0
//   0.9  0.9                 3/4    -              0
//   0.7  0.9                 3/4    0.7            1/4
//   0.6  0.9 0.6             2/4    0.7            1/4
//   0.5  0.9 0.6 0.5         1/4    0.7 0.5        2/4   (the tied 0.5 attack is live: >=)
//   0.3  all                 0      0.7 0.5        2/4
//   0.2  all                 0      + 0.2          3/4
//   0.1  all                 0      all            1
const BONA_FIDE = [0.9, 0.6, 0.5, 0.3];
const ATTACK = [0.5, 0.2, 0.1, 0.7];

test('PAD rates: live at score >= threshold; APCER = attacks accepted, BPCER = bona fide refused', () => {
  const p = padRates(BONA_FIDE, ATTACK, 0.5);
  assert.deepEqual(
    [p.apcer, p.attacksAccepted, p.attacks, p.bpcer, p.bonaFideRefused, p.bonaFide],
    [0.5, 2, 4, 0.25, 1, 4],
  );
  assert.deepEqual(
    padRoc(BONA_FIDE, ATTACK).map((q) => [q.from, q.threshold, q.attacksAccepted, q.bonaFideRefused]),
    [
      [0.9, Number.POSITIVE_INFINITY, 0, 4],
      [0.7, 0.9, 0, 3],
      [0.6, 0.7, 1, 3],
      [0.5, 0.6, 1, 2],
      [0.3, 0.5, 2, 1],
      [0.2, 0.3, 2, 0],
      [0.1, 0.2, 3, 0],
      [Number.NEGATIVE_INFINITY, 0.1, 4, 0],
    ],
  );
});

test('PAD: the threshold meeting a chosen BPCER with the lowest APCER, and the EER', () => {
  const at = (maxBpcer: number) => {
    const p = thresholdForBpcer(BONA_FIDE, ATTACK, maxBpcer);
    return [p.threshold, p.apcer, p.bpcer];
  };
  assert.deepEqual(at(0.25), [0.5, 0.5, 0.25]);
  assert.deepEqual(at(0), [0.3, 0.5, 0]);
  assert.deepEqual(at(0.5), [0.6, 0.25, 0.5]);
  assert.deepEqual(at(1), [Number.POSITIVE_INFINITY, 0, 1]);
  // max 0.5 at 0.6, 0.5 and 0.3; 0.3 has the smallest sum (APCER 0.5 + BPCER 0).
  const e = padEqualErrorRate(BONA_FIDE, ATTACK);
  assert.deepEqual([e.eer, e.threshold, e.apcer, e.bpcer], [0.5, 0.3, 0.5, 0]);
});

test('no threshold beats the reported EER, and every ROC point reproduces its rates (random sets with ties)', () => {
  const rand = seededRandom(21);
  for (let round = 0; round < 20; round++) {
    // Scores on a coarse grid so ties are common.
    const grid = () => Math.round(rand() * 20) / 20;
    const genuine = Array.from({ length: 5 + Math.floor(rand() * 30) }, () => grid() * 0.8);
    const impostor = Array.from({ length: 5 + Math.floor(rand() * 60) }, () => 0.2 + grid() * 0.8);
    const eer = equalErrorRate(genuine, impostor);
    for (let k = 0; k <= 200; k++) {
      const r = verificationRates(genuine, impostor, k / 200 - 0.0001);
      assert.ok(Math.max(r.far, r.frr) >= eer.eer);
    }
    for (const p of verificationRoc(genuine, impostor)) {
      const again = verificationRates(genuine, impostor, p.threshold);
      assert.deepEqual([again.far, again.frr], [p.far, p.frr]);
    }
    const bona = genuine.map((d) => 1 - d);
    const attack = impostor.map((d) => 1 - d);
    const padEer = padEqualErrorRate(bona, attack);
    for (let k = 0; k <= 200; k++) {
      const r = padRates(bona, attack, k / 200 + 0.0001);
      assert.ok(Math.max(r.apcer, r.bpcer) >= padEer.eer);
    }
  }
});

test('bad input: empty or non-finite scores and out-of-range targets are refused with one line', () => {
  assert.throws(() => equalErrorRate([], [1]), /genuine distances: no scores/);
  assert.throws(() => equalErrorRate([1], []), /impostor distances: no scores/);
  assert.throws(() => equalErrorRate([Number.NaN], [1]), /not a finite score/);
  assert.throws(() => padRates([0.5], [Number.POSITIVE_INFINITY], 0.5), /attack scores: Infinity/);
  assert.throws(() => farAtFrr([1], [2], 1.5), /FRR target/);
  assert.throws(() => frrAtFar([1], [2], -0.1), /FAR target/);
  assert.throws(() => thresholdForFar([1], Number.NaN), /FAR target/);
  assert.throws(() => thresholdForBpcer([1], [2], 2), /BPCER target/);
  assert.throws(() => verificationRates([1], [2], Number.NaN), /threshold/);
});
