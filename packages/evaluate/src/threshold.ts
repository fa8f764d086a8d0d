import type { Decision, ValueMatrix } from '@bolsillo/schema';
import { descendingOrder } from './order';

/** The decision file evaluate writes beside a model (`registry/models/<version>/decision.json`); loadModel reads it. */
export type { Decision };

/** Total value of a confusion matrix under a value matrix. */
export function valueOf(c: { tp: number; fp: number; fn: number; tn: number }, v: ValueMatrix): number {
  return c.tp * v.tp + c.fp * v.fp + c.fn * v.fn + c.tn * v.tn;
}

/**
 * The threshold (predict positive when score ≥ threshold) that maximises the objective: F1, or
 * the total value under `valueMatrix`. Candidates are the distinct scores, plus "flag nothing"
 * (threshold just above the top score) because under a value matrix doing nothing can be best.
 * Ties keep the higher threshold (fewer flags for the same objective).
 *
 * @example chooseThreshold([0, 1, 1], [0.2, 0.7, 0.9], 'f1', matrix).threshold // 0.7
 */
export function chooseThreshold(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  objective: 'f1' | 'value',
  valueMatrix: ValueMatrix,
): { threshold: number; achieved: number } {
  const n = y.length;
  if (n !== p.length) throw new Error(`chooseThreshold: ${n} labels but ${p.length} scores`);
  if (n === 0) return { threshold: 0.5, achieved: NaN };
  const idx = descendingOrder(p);
  let totalPos = 0;
  for (let i = 0; i < n; i++) totalPos += y[i] ? 1 : 0;
  const score = (tp: number, fp: number) => {
    const fn = totalPos - tp;
    const tn = n - totalPos - fp;
    if (objective === 'value') return valueOf({ tp, fp, fn, tn }, valueMatrix);
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  };
  const top = p[idx[0]!]!;
  let best = { threshold: Math.min(1, top + 1e-9), achieved: score(0, 0) };
  if (best.threshold <= top) best = { threshold: top + Number.EPSILON, achieved: best.achieved };
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const t = p[idx[i]!]!;
    while (i < n && p[idx[i]!]! === t) {
      if (y[idx[i]!]) tp++;
      else fp++;
      i++;
    }
    const s = score(tp, fp);
    if (s > best.achieved) best = { threshold: t, achieved: s };
  }
  return best;
}
