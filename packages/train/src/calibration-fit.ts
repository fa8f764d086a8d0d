import type { Calibration } from '@bolsillo/schema';
import { brierScore, confusionAt, expectedCalibrationError } from '@bolsillo/core';
import { calibrate, logit, sigmoid } from '@bolsillo/model';

type Labels = ArrayLike<number | boolean>;
const y01 = (y: Labels, i: number) => (y[i] ? 1 : 0);

/**
 * Platt scaling: a logistic regression of the label on the raw logit, fitted by Newton's method
 * with Platt's smoothed targets (so a perfectly separated slice does not blow the slope up).
 */
export function fitPlatt(y: Labels, p: ArrayLike<number>): Calibration & { method: 'platt' } {
  const n = y.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y01(y, i);
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (n - pos + 2);
  const z = Float64Array.from({ length: n }, (_, i) => logit(p[i]!));
  const t = Float64Array.from({ length: n }, (_, i) => (y01(y, i) ? hi : lo));
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let g0 = 0;
    let g1 = 0;
    let h00 = 1e-9;
    let h01 = 0;
    let h11 = 1e-9;
    for (let i = 0; i < n; i++) {
      const q = sigmoid(a * z[i]! + b);
      const d = q - t[i]!;
      const w = q * (1 - q);
      g0 += d * z[i]!;
      g1 += d;
      h00 += w * z[i]! * z[i]!;
      h01 += w * z[i]!;
      h11 += w;
    }
    const det = h00 * h11 - h01 * h01;
    if (Math.abs(det) < 1e-18) break;
    const da = (h11 * g0 - h01 * g1) / det;
    const db = (h00 * g1 - h01 * g0) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { method: 'platt', a, b };
}

/** Isotonic regression (pool adjacent violators) of the label on the raw probability; knots at block means. */
export function fitIsotonic(y: Labels, p: ArrayLike<number>): Calibration & { method: 'isotonic' } {
  const idx = Array.from({ length: p.length }, (_, i) => i).sort((i, j) => p[i]! - p[j]!);
  // Tied scores must share one value, so start from one block per distinct score.
  const blocks: { sumY: number; sumX: number; n: number }[] = [];
  for (let k = 0; k < idx.length;) {
    let j = k;
    let sumY = 0;
    let sumX = 0;
    while (j < idx.length && p[idx[j]!] === p[idx[k]!]) {
      sumY += y01(y, idx[j]!);
      sumX += p[idx[j]!]!;
      j++;
    }
    blocks.push({ sumY, sumX, n: j - k });
    k = j;
    while (
      blocks.length > 1 &&
      blocks[blocks.length - 2]!.sumY / blocks[blocks.length - 2]!.n >=
        blocks[blocks.length - 1]!.sumY / blocks[blocks.length - 1]!.n
    ) {
      const last = blocks.pop()!;
      const prev = blocks[blocks.length - 1]!;
      prev.sumY += last.sumY;
      prev.sumX += last.sumX;
      prev.n += last.n;
    }
  }
  return { method: 'isotonic', x: blocks.map((b) => b.sumX / b.n), y: blocks.map((b) => b.sumY / b.n) };
}

/** One calibration candidate's scores on the calibration slice. */
export interface CalibrationScore {
  readonly method: string;
  readonly brier: number;
  readonly ece: number;
}

/**
 * Fit every requested method on the calibration slice and keep the best by `selectBy` (ties: the
 * other score). Also scores the uncalibrated probabilities, for the card.
 */
export function chooseCalibration(
  y: Labels,
  raw: ArrayLike<number>,
  methods: readonly ('platt' | 'isotonic')[],
  selectBy: 'brier' | 'ece',
): { chosen: Calibration; scores: CalibrationScore[] } {
  const score = (cal: Calibration): CalibrationScore => {
    const q = Float64Array.from(raw, (v) => calibrate(cal, v));
    return { method: cal.method, brier: brierScore(y, q), ece: expectedCalibrationError(y, q) };
  };
  const candidates: Calibration[] = methods.map((m) => (m === 'platt' ? fitPlatt(y, raw) : fitIsotonic(y, raw)));
  const scores = candidates.map(score);
  const other = selectBy === 'brier' ? 'ece' : 'brier';
  let best = 0;
  for (let i = 1; i < scores.length; i++) {
    const a = scores[i]!;
    const b = scores[best]!;
    if (a[selectBy] < b[selectBy] - 1e-12 || (Math.abs(a[selectBy] - b[selectBy]) <= 1e-12 && a[other] < b[other]))
      best = i;
  }
  return { chosen: candidates[best]!, scores: [{ method: 'none', ...pick(score({ method: 'none' })) }, ...scores] };
}

const pick = (s: CalibrationScore) => ({ brier: s.brier, ece: s.ece });

/** The threshold with the best F1 among the distinct scores (score ≥ threshold is positive). */
export function bestF1Threshold(y: Labels, p: ArrayLike<number>): { threshold: number; f1: number } {
  const distinct = [...new Set(Array.from(p))].sort((a, b) => a - b);
  let best = { threshold: 0.5, f1: -1 };
  // Distinct values can be many; a sweep over at most ~200 quantiles is plenty for a default.
  const step = Math.max(1, Math.floor(distinct.length / 200));
  for (let i = 0; i < distinct.length; i += step) {
    const c = confusionAt(y, p, distinct[i]!);
    if (c.f1 > best.f1) best = { threshold: distinct[i]!, f1: c.f1 };
  }
  return best.f1 < 0 ? { threshold: 0.5, f1: 0 } : best;
}
