/**
 * The baselines a practitioner tries first, fitted like models: the prior (train prevalence) and
 * single-feature scorers (one feature, a direction, an optional threshold, a logistic map to a
 * probability). Which feature, direction and threshold each baseline uses comes from the train
 * params; the fitting here knows none of them.
 */
import { featureNumber, featureSignal, type FeatureScorerJson } from '@bolsillo/model';

type Row = Readonly<Record<string, unknown>>;
type Labels = ArrayLike<number>;

/** What to fit: a feature, the risk direction (`auto`: chosen on the fitting rows) and, for a binary rule, a threshold. */
export interface FeatureScorerSpec {
  readonly feature: string;
  readonly direction: 'higher' | 'lower' | 'auto';
  readonly threshold: number | null;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Logistic regression of y on one standardised input by Newton's method, with Platt's smoothed
 * targets (a perfectly separating feature keeps a finite slope) and a small ridge on the slope.
 */
export function fitLogistic1d(x: Float64Array, y: Labels): { a: number; b: number } {
  const n = x.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i] ? 1 : 0;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (n - pos + 2);
  let a = 0;
  let b = Math.log((pos + 1) / (n - pos + 1));
  const ridge = 1e-3;
  for (let iter = 0; iter < 50; iter++) {
    let ga = ridge * a;
    let gb = 0;
    let haa = ridge;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const q = sigmoid(a * x[i]! + b);
      const d = q - (y[i] ? hi : lo);
      const w = q * (1 - q);
      ga += d * x[i]!;
      gb += d;
      haa += w * x[i]! * x[i]!;
      hab += w * x[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-18)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}

/**
 * The logistic map of a 0/1 input in closed form: the smoothed positive rate of each group
 * (b = logit of the misses' rate, a = the hits' logit minus it). Newton's method on a 0/1 input
 * can overshoot on large samples; the maximum-likelihood answer needs no iteration.
 */
export function fitTwoGroups(x: Float64Array, y: Labels): { a: number; b: number } {
  let hits = 0;
  let hitPos = 0;
  let misses = 0;
  let missPos = 0;
  for (let i = 0; i < x.length; i++) {
    const positive = y[i] ? 1 : 0;
    if (x[i]! > 0.5) {
      hits++;
      hitPos += positive;
    } else {
      misses++;
      missPos += positive;
    }
  }
  const logit = (pos: number, n: number) => Math.log((pos + 0.5) / (n - pos + 0.5));
  const b = logit(missPos, misses);
  return { a: hits > 0 ? logit(hitPos, hits) - b : 0, b };
}

/**
 * Fit a single-feature scorer on rows and labels. The map is a one-input logistic regression on
 * the signed value (graded) or on the 0/1 rule outcome (binary: it reproduces the two groups'
 * rates); a fixed direction never flips (a slope of the wrong sign becomes 0: the rate of the
 * present rows); `auto` takes the slope's sign. Missing values get their own rate, shrunk toward
 * the prevalence (the prevalence when training had none).
 */
export function fitFeatureScorer(rows: readonly Row[], y: Labels, spec: FeatureScorerSpec): FeatureScorerJson {
  const direction0 = spec.direction === 'lower' ? 'lower' : 'higher';
  const signal = { direction: direction0, threshold: spec.threshold } as const;
  const t = new Float64Array(rows.length);
  const ty = new Uint8Array(rows.length);
  let present = 0;
  let pos = 0;
  let missN = 0;
  let missPos = 0;
  for (let i = 0; i < rows.length; i++) {
    const yi = y[i] ? 1 : 0;
    pos += yi;
    const v = featureSignal(signal, rows[i]![spec.feature]);
    if (Number.isFinite(v)) {
      t[present] = v;
      ty[present++] = yi;
    } else {
      missN++;
      missPos += yi;
    }
  }
  const prevalence = rows.length ? pos / rows.length : 0;
  const missing_probability = (missPos + 2 * prevalence) / (missN + 2);
  let center = 0;
  let scale = 1;
  if (spec.threshold === null && present) {
    let sum = 0;
    for (let i = 0; i < present; i++) sum += t[i]!;
    center = sum / present;
    let ss = 0;
    for (let i = 0; i < present; i++) ss += (t[i]! - center) ** 2;
    const sd = Math.sqrt(ss / present);
    scale = sd > 0 ? sd : 1;
  }
  const x = new Float64Array(present);
  for (let i = 0; i < present; i++) x[i] = (t[i]! - center) / scale;
  const yx = ty.subarray(0, present);
  let { a, b } = present ? (spec.threshold === null ? fitLogistic1d(x, yx) : fitTwoGroups(x, yx)) : { a: 0, b: 0 };
  let direction: 'higher' | 'lower' = direction0;
  if (a < 0) {
    if (spec.direction === 'auto' && spec.threshold === null) {
      // The other direction: t' = −t, so a·(t − c)/s = (−a)·(t' + c)/s.
      direction = 'lower';
      a = -a;
      center = -center;
    } else {
      let hits = 0;
      for (let i = 0; i < present; i++) hits += yx[i]!;
      const rate = present ? (hits + 2 * prevalence) / (present + 2) : prevalence;
      a = 0;
      b = Math.log(Math.max(rate, 1e-9) / Math.max(1 - rate, 1e-9));
    }
  }
  return {
    format: 'bolsillo-baseline',
    family: 'feature',
    feature: spec.feature,
    direction,
    threshold: spec.threshold,
    center,
    scale,
    a,
    b,
    missing_probability,
  };
}

/** Can a feature be scored as a number? True when every present value is a number or a boolean (categories cannot). */
export function isNumericFeature(rows: readonly Row[], feature: string): boolean {
  let present = 0;
  for (const r of rows) {
    const v = r[feature];
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' && !Number.isFinite(featureNumber(v))) return false;
    if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint' && typeof v !== 'string') return false;
    present++;
  }
  return present > 0;
}
