import {
  averagePrecision,
  brierScore,
  confusionAt,
  expectedCalibrationError,
  logLoss,
  rocAuc,
  seededRandom,
} from '@bolsillo/core';
import type { MetricName } from './params';

/** A point estimate with its bootstrap percentile interval (NaN bounds when the bootstrap is off). */
export interface Estimate {
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

/** Confusion-matrix counts at the decision threshold. */
export interface ConfusionCounts {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

/** Every metric of one model on one set of rows. */
export interface MetricSet {
  readonly n: number;
  readonly positives: number;
  readonly threshold: number;
  readonly metrics: Record<MetricName, Estimate>;
  readonly confusion: Record<keyof ConfusionCounts, Estimate>;
}

/** Point values of all metrics at a threshold, through the shared core metric functions. */
export function pointMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number, bins: number): { metrics: Record<MetricName, number>; confusion: ConfusionCounts } {
  const c = confusionAt(y, p, threshold);
  return {
    metrics: {
      roc_auc: rocAuc(y, p),
      pr_auc: averagePrecision(y, p),
      log_loss: logLoss(y, p),
      brier: brierScore(y, p),
      ece: expectedCalibrationError(y, p, bins),
      precision: c.precision,
      recall: c.recall,
      f1: c.f1,
      accuracy: c.accuracy,
    },
    confusion: { tp: c.tp, fp: c.fp, fn: c.fn, tn: c.tn },
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The resample index lists of a seeded bootstrap: the same seed and row count give the same
 * resamples, so models scored on the same rows are compared on identical resamples (paired).
 */
export function bootstrapIndices(n: number, iterations: number, seed: number): Uint32Array[] {
  const rand = seededRandom(seed);
  const out: Uint32Array[] = [];
  for (let b = 0; b < iterations; b++) {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    out.push(idx);
  }
  return out;
}

/**
 * All metrics with seeded bootstrap percentile intervals. Resamples where a metric is undefined
 * (one class only) are skipped for that metric rather than poisoning the interval.
 *
 * @example evaluateScores(labels, probs, 0.31, { iterations: 300, confidence: 0.95, seed: 7, bins: 10 })
 */
export function evaluateScores(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  options: { iterations: number; confidence: number; seed: number; bins: number },
): MetricSet {
  if (y.length !== p.length) throw new Error(`evaluate: ${y.length} labels but ${p.length} scores`);
  const point = pointMetrics(y, p, threshold, options.bins);
  const names = Object.keys(point.metrics) as MetricName[];
  const cnames = Object.keys(point.confusion) as (keyof ConfusionCounts)[];
  const samples: Record<string, number[]> = Object.fromEntries([...names, ...cnames].map((k) => [k, []]));
  const yb = new Float64Array(y.length);
  const pb = new Float64Array(y.length);
  for (const idx of bootstrapIndices(y.length, options.iterations, options.seed)) {
    for (let i = 0; i < idx.length; i++) {
      yb[i] = y[idx[i]!]!;
      pb[i] = p[idx[i]!]!;
    }
    const m = pointMetrics(yb, pb, threshold, options.bins);
    for (const k of names) if (Number.isFinite(m.metrics[k])) samples[k]!.push(m.metrics[k]);
    for (const k of cnames) samples[k]!.push(m.confusion[k]);
  }
  const alpha = (1 - options.confidence) / 2;
  const estimate = (value: number, s: number[]): Estimate => {
    s.sort((a, b) => a - b);
    return { value, lo: percentile(s, alpha), hi: percentile(s, 1 - alpha) };
  };
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  return {
    n: y.length,
    positives,
    threshold,
    metrics: Object.fromEntries(names.map((k) => [k, estimate(point.metrics[k], samples[k]!)])) as Record<MetricName, Estimate>,
    confusion: Object.fromEntries(cnames.map((k) => [k, estimate(point.confusion[k], samples[k]!)])) as Record<keyof ConfusionCounts, Estimate>,
  };
}

/**
 * Paired bootstrap of the difference `a − b` of every metric (each model at its own threshold):
 * both models are scored on the same resamples, so the interval reflects the models' difference,
 * not the noise of the rows. An interval that excludes 0 is a real difference.
 */
export function pairedDifference(
  y: ArrayLike<number>,
  a: { scores: ArrayLike<number>; threshold: number },
  b: { scores: ArrayLike<number>; threshold: number },
  options: { iterations: number; confidence: number; seed: number; bins: number },
): Record<MetricName, Estimate> {
  const pa = pointMetrics(y, a.scores, a.threshold, options.bins).metrics;
  const pb = pointMetrics(y, b.scores, b.threshold, options.bins).metrics;
  const names = Object.keys(pa) as MetricName[];
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const yb = new Float64Array(y.length);
  const ab = new Float64Array(y.length);
  const bb = new Float64Array(y.length);
  for (const idx of bootstrapIndices(y.length, options.iterations, options.seed)) {
    for (let i = 0; i < idx.length; i++) {
      yb[i] = y[idx[i]!]!;
      ab[i] = a.scores[idx[i]!]!;
      bb[i] = b.scores[idx[i]!]!;
    }
    const ma = pointMetrics(yb, ab, a.threshold, options.bins).metrics;
    const mb = pointMetrics(yb, bb, b.threshold, options.bins).metrics;
    for (const k of names) {
      const d = ma[k] - mb[k];
      if (Number.isFinite(d)) samples[k]!.push(d);
    }
  }
  const alpha = (1 - options.confidence) / 2;
  return Object.fromEntries(
    names.map((k) => {
      const s = samples[k]!.sort((x, z) => x - z);
      return [k, { value: pa[k] - pb[k], lo: percentile(s, alpha), hi: percentile(s, 1 - alpha) }];
    }),
  ) as Record<MetricName, Estimate>;
}
