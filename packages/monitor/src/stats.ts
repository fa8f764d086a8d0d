/**
 * Statistics for drift detection against a stored reference profile. The reference is a histogram
 * (bin edges + counts) or a frequency table, not a sample, so every test here works on counts.
 */

import { binIndex } from '@bolsillo/core';

/** ln Γ(x) (Lanczos), enough precision for p-values. */
function logGamma(x: number): number {
  const g = [
    76.1800917294715, -86.5053203294168, 24.0140982408309, -1.23173957245015, 0.00120865097386618,
    -0.000005395239384953,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.00000000019001;
  for (const c of g) ser += c / ++y;
  return -tmp + Math.log((2.506628274631 * ser) / x);
}

/** Regularised upper incomplete gamma Q(a, x). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) {
    // Series for P, then Q = 1 − P.
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 500; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-14) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-x + a * Math.log(x) - logGamma(a)));
  }
  // Continued fraction for Q (Lentz).
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return Math.min(1, Math.exp(-x + a * Math.log(x) - logGamma(a)) * h);
}

/** P(χ²_df ≥ x). */
export function chiSquareSurvival(x: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

/** The χ²_df quantile at upper-tail probability `alpha` (bisection on the survival function). */
export function chiSquareCritical(df: number, alpha: number): number {
  if (df <= 0) return 0;
  let lo = 0;
  let hi = Math.max(10, df * 10);
  while (chiSquareSurvival(hi, df) > alpha) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (chiSquareSurvival(mid, df) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Kolmogorov distribution tail Q_KS(λ) = 2 Σ (−1)^{k−1} e^{−2k²λ²}. */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** p-value of a two-sample KS statistic `d` for sample sizes n and m (Stephens' small-sample correction). */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const en = Math.sqrt((n * m) / (n + m));
  return kolmogorovSurvival((en + 0.12 + 0.11 / en) * d);
}

/** Counts of `values` in the stored bins (nulls and NaN skipped; core's {@link binIndex}, build's bins). */
export function histogram(edges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(Math.max(1, edges.length - 1)).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) counts[binIndex(edges, v)]!++;
  }
  return counts;
}

function total(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}

/**
 * Population stability index of `current` counts against `reference` counts over the same bins.
 * Laplace smoothing (+0.5 per bin) keeps empty bins finite without a magic epsilon.
 */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const k = reference.length;
  const nr = total(reference) + 0.5 * k;
  const nc = total(current) + 0.5 * k;
  let s = 0;
  for (let i = 0; i < k; i++) {
    const p = (reference[i]! + 0.5) / nr;
    const q = (current[i]! + 0.5) / nc;
    s += (q - p) * Math.log(q / p);
  }
  return s;
}

/**
 * PSI level a sample of the reference distribution exceeds with probability `alpha`: PSI is about
 * χ²_{k−1}·(1/n + 1/m) under no drift, so small windows need a higher bar than the textbook 0.2.
 */
export function psiCritical(bins: number, n: number, m: number, alpha: number): number {
  if (n === 0 || m === 0) return Infinity;
  return chiSquareCritical(bins - 1, alpha) * (1 / n + 1 / m);
}

/** Two-sample KS statistic over the stored bins: the largest CDF gap at the bin edges. */
export function ksBinned(reference: readonly number[], current: readonly number[]): number {
  const nr = total(reference);
  const nc = total(current);
  if (!nr || !nc) return 0;
  let cr = 0;
  let cc = 0;
  let d = 0;
  for (let i = 0; i < reference.length; i++) {
    cr += reference[i]!;
    cc += current[i]!;
    d = Math.max(d, Math.abs(cr / nr - cc / nc));
  }
  return d;
}

/** Result of a Wasserstein comparison: the normalised distance and the no-drift level for this sample size. */
export interface WassersteinResult {
  readonly distance: number;
  readonly noiseLevel: number;
}

/**
 * Wasserstein-1 distance between the reference histogram and the current sample over the stored
 * bins, divided by the reference standard deviation (Evidently's normalised Wasserstein).
 * Mass inside a bin is taken at the bin's lower edge for both sides, so binning error cancels; the
 * current sample's tails beyond the reference range count exactly. `noiseLevel` is three times the
 * expected distance of a same-distribution sample, ∑ √(F(1−F)) Δx · √(1/n + 1/m) / σ.
 */
export function wassersteinBinned(
  edges: readonly number[],
  reference: readonly number[],
  current: readonly number[],
  tails: { below: number; above: number },
  referenceStd: number,
): WassersteinResult {
  const nr = total(reference);
  const nc = total(current);
  if (!nr || !nc || !(referenceStd > 0)) return { distance: 0, noiseLevel: Infinity };
  let cr = 0;
  let cc = 0;
  let w = 0;
  let spread = 0;
  for (let i = 0; i < reference.length - 1; i++) {
    cr += reference[i]!;
    cc += current[i]!;
    const width = edges[i + 1]! - edges[i]!;
    const fr = cr / nr;
    w += Math.abs(fr - cc / nc) * width;
    spread += Math.sqrt(fr * (1 - fr)) * width;
  }
  w += (tails.below + tails.above) / nc;
  return { distance: w / referenceStd, noiseLevel: (3 * spread * Math.sqrt(1 / nr + 1 / nc)) / referenceStd };
}

/** Chi-square test of homogeneity for two count vectors over the same categories. */
export function chiSquareTwoSample(
  reference: readonly number[],
  current: readonly number[],
): { statistic: number; df: number; pValue: number } {
  const nr = total(reference);
  const nc = total(current);
  const n = nr + nc;
  if (!nr || !nc) return { statistic: 0, df: 0, pValue: 1 };
  let stat = 0;
  let used = 0;
  for (let i = 0; i < reference.length; i++) {
    const col = reference[i]! + current[i]!;
    if (!col) continue;
    used++;
    const er = (col * nr) / n;
    const ec = (col * nc) / n;
    stat += (reference[i]! - er) ** 2 / er + (current[i]! - ec) ** 2 / ec;
  }
  const df = Math.max(0, used - 1);
  return { statistic: stat, df, pValue: df ? chiSquareSurvival(stat, df) : 1 };
}

/** Jensen–Shannon distance (square root of the divergence, natural log), as scipy computes it. */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const nr = total(reference);
  const nc = total(current);
  if (!nr || !nc) return 0;
  let js = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]! / nr;
    const q = current[i]! / nc;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log(p / m);
    if (q > 0) js += 0.5 * q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/** JS distance a same-distribution sample exceeds with probability `alpha`: JSD ≈ χ²_{k−1}(1/n + 1/m)/8. */
export function jensenShannonCritical(categories: number, n: number, m: number, alpha: number): number {
  if (n === 0 || m === 0) return Infinity;
  return Math.sqrt((chiSquareCritical(Math.max(1, categories - 1), alpha) * (1 / n + 1 / m)) / 8);
}

/** Exact two-sample KS statistic on raw samples (for score drift, where both sides are samples). */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Quantile (linear interpolation) of a sample. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Kish design effect of clustered rows: 1 + (m̃ − 1)·ρ with ρ the one-way ANOVA intra-class
 * correlation and m̃ = Σ n_g² / N the size-weighted mean cluster size. Transactions come in
 * customers, and customer-level values (age, limit, history) repeat within a customer, so n rows
 * carry only about n / deff independent observations; tests sized on n rows would false-alarm.
 * NaN values are skipped. Returns 1 (no clustering) when it cannot be estimated.
 */
export function designEffect(values: ArrayLike<number>, clusters: ArrayLike<string>): number {
  const groups = new Map<string, { n: number; sum: number; sumSq: number }>();
  let n = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) continue;
    const key = clusters[i]!;
    const g = groups.get(key) ?? { n: 0, sum: 0, sumSq: 0 };
    g.n++;
    g.sum += x;
    g.sumSq += x * x;
    groups.set(key, g);
    n++;
    total += x;
  }
  const k = groups.size;
  if (k < 2 || n <= k) return k === 1 && n > 1 ? n : 1;
  const grand = total / n;
  let ssb = 0;
  let ssw = 0;
  let sumN2 = 0;
  for (const g of groups.values()) {
    const mean = g.sum / g.n;
    ssb += g.n * (mean - grand) ** 2;
    ssw += g.sumSq - g.n * mean * mean;
    sumN2 += g.n * g.n;
  }
  const msb = ssb / (k - 1);
  const msw = Math.max(0, ssw) / (n - k);
  const m0 = (n - sumN2 / n) / (k - 1);
  const denom = msb + (m0 - 1) * msw;
  const rho = denom > 0 ? Math.min(1, Math.max(0, (msb - msw) / denom)) : msb > 0 ? 1 : 0;
  return 1 + (sumN2 / n - 1) * rho;
}
