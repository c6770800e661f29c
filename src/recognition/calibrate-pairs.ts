/**
 * `facegate calibrate`'s data side, pure: every pair of encoded photos is a genuine pair (same folder = same
 * person) or an impostor pair, with its distance in the encoder's metric; then the rates of calibrate.ts.
 */
import {
  type EqualErrorRate,
  equalErrorRate,
  thresholdForFar,
  type VerificationPoint,
  verificationRates,
} from './calibrate.ts';
import { encoderDistance } from './encoder-traits.ts';

export interface LabelledDescriptor {
  person: string;
  descriptor: Float32Array;
}

export interface PairDistances {
  genuine: number[];
  impostor: number[];
}

export function pairDistances(samples: readonly LabelledDescriptor[], encoderId: string): PairDistances {
  const out: PairDistances = { genuine: [], impostor: [] };
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const d = encoderDistance(encoderId, samples[i]!.descriptor, samples[j]!.descriptor);
      (samples[i]!.person === samples[j]!.person ? out.genuine : out.impostor).push(d);
    }
  }
  return out;
}

export interface Distribution {
  count: number;
  min: number;
  p05: number;
  median: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles of a non-empty list. */
export function distribution(values: readonly number[]): Distribution {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { count: s.length, min: s[0]!, p05: at(0.05), median: at(0.5), p95: at(0.95), max: s[s.length - 1]! };
}

export interface CalibrationReport {
  genuine: Distribution;
  impostor: Distribution;
  eer: EqualErrorRate;
  /** The most lenient threshold with FAR ≤ target on these impostor pairs, and the rates it gives. */
  atTargetFar: VerificationPoint & { targetFar: number };
  /** The rates at the threshold in force. */
  atThreshold: VerificationPoint;
  /** 1 / impostor pairs: a smaller target FAR can only be met by accepting none of them. */
  smallestMeasurableFar: number;
}

export function calibrationReport(pairs: PairDistances, targetFar: number, threshold: number): CalibrationReport {
  const { genuine, impostor } = pairs;
  const t = thresholdForFar(impostor, targetFar);
  return {
    genuine: distribution(genuine),
    impostor: distribution(impostor),
    eer: equalErrorRate(genuine, impostor),
    atTargetFar: { ...verificationRates(genuine, impostor, t), targetFar },
    atThreshold: verificationRates(genuine, impostor, threshold),
    smallestMeasurableFar: 1 / impostor.length,
  };
}
