import type { CategoricalProfile, NumericProfile, Profile } from '@bolsillo/schema';
import {
  chiSquareSurvival,
  chiSquareTwoSample,
  designEffect,
  histogram,
  jensenShannon,
  jensenShannonCritical,
  ksBinned,
  ksPValue,
  ksTwoSample,
  psi,
  psiCritical,
  wassersteinBinned,
} from './stats';

/** Which test decided a feature's verdict. */
export type DriftTest = 'ks' | 'wasserstein' | 'chi_square' | 'jensen_shannon';

/** Drift parameters (the `drift` section of `packages/monitor/params.json`). */
export interface DriftParams {
  /** Family-wise significance for the p-value tests; split over the features (Bonferroni). */
  readonly alpha: number;
  /** At or below this many rows on either side, use KS / chi-square (p-values); above, the distances (as Evidently). */
  readonly smallSample: number;
  /** Evidently's default distance thresholds; raised to the sample's noise level when that is higher. */
  readonly wassersteinThreshold: number;
  readonly jensenShannonThreshold: number;
  /** The textbook PSI alarm level; raised to the sample's χ² noise level when that is higher. */
  readonly psiThreshold: number;
  /** Features not compared (calendar features drift with any window by construction). */
  readonly exclude: readonly string[];
}

/** Sensible defaults; see {@link DriftParams}. */
export const DEFAULT_DRIFT_PARAMS: DriftParams = {
  alpha: 0.01,
  smallSample: 1000,
  wassersteinThreshold: 0.1,
  jensenShannonThreshold: 0.1,
  psiThreshold: 0.2,
  exclude: [
    'day_of_week',
    'day_of_month',
    'month',
    'is_weekend',
    'is_month_start',
    'is_month_end',
    'is_holiday',
    'account_age_months',
  ],
};

/** The verdict for one feature. */
export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly test: DriftTest;
  readonly statistic: number;
  readonly pValue: number | null;
  /** The level `statistic` (or `pValue`, for p-value tests) is compared with. */
  readonly threshold: number;
  readonly drifted: boolean;
  readonly psi: number;
  readonly psiThreshold: number;
  /** Design effect of customer clustering used to size the test (1 = rows independent). */
  readonly designEffect: number;
  readonly nReference: number;
  readonly nCurrent: number;
  readonly missingShareReference: number;
  readonly missingShareCurrent: number;
  /** Bin or category labels and shares on both sides (for the page's charts). */
  readonly labels: readonly string[];
  readonly referenceShares: readonly number[];
  readonly currentShares: readonly number[];
}

/** Drift of a window against the reference profile. */
export interface DriftResult {
  readonly features: readonly FeatureDrift[];
  readonly driftedCount: number;
  readonly shareDrifted: number;
  /** Features whose PSI is above its (sample-sized) threshold. */
  readonly psiAboveCount: number;
  readonly rows: number;
}

const MISSING = '(missing)';
const OTHER = '(other)';

function shares(counts: readonly number[]): number[] {
  const n = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (n ? c / n : 0));
}

function toNumber(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' ? v : Number(v);
}

function numericDrift(
  name: string,
  ref: NumericProfile,
  values: ArrayLike<unknown>,
  params: DriftParams,
  alpha: number,
  clusters: ArrayLike<string> | undefined,
): FeatureDrift {
  const nums: number[] = [];
  const all = new Float64Array(values.length);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const x = toNumber(values[i]);
    all[i] = x;
    if (Number.isFinite(x)) nums.push(x);
    else missing++;
  }
  const deff = clusters ? designEffect(all, clusters) : 1;
  const edges = ref.bin_edges;
  const refCounts = ref.bin_counts;
  const curCounts = histogram(edges, nums);
  const nr = refCounts.reduce((s, c) => s + c, 0);
  const nc = nums.length;
  // PSI includes a missing bin: a feature that starts arriving empty is drift too.
  const psiRef = [...refCounts, ref.missing];
  const psiCur = [...curCounts, missing];
  const psiValue = psi(psiRef, psiCur);
  const psiLevel = Math.max(
    params.psiThreshold,
    psiCritical(psiRef.length, (nr + ref.missing) / deff, (nc + missing) / deff, alpha),
  );
  let test: DriftTest;
  let statistic: number;
  let pValue: number | null = null;
  let threshold: number;
  let drifted: boolean;
  if (Math.min(nr, nc) <= params.smallSample) {
    test = 'ks';
    statistic = ksBinned(refCounts, curCounts);
    pValue = ksPValue(statistic, nr / deff, nc / deff);
    threshold = alpha;
    drifted = nc > 0 && pValue < alpha;
  } else {
    test = 'wasserstein';
    const lo = edges[0]!;
    const hi = edges[edges.length - 1]!;
    let below = 0;
    let above = 0;
    for (const x of nums) {
      if (x < lo) below += lo - x;
      else if (x > hi) above += x - hi;
    }
    const w = wassersteinBinned(edges, refCounts, curCounts, { below, above }, ref.std ?? 0);
    statistic = w.distance;
    threshold = Math.max(params.wassersteinThreshold, w.noiseLevel * Math.sqrt(deff));
    drifted = statistic > threshold;
  }
  const labels = refCounts.map((_, i) => `${fmt(edges[i]!)}–${fmt(edges[i + 1]!)}`);
  return {
    feature: name,
    kind: 'numeric',
    test,
    statistic,
    pValue,
    threshold,
    drifted,
    psi: psiValue,
    psiThreshold: psiLevel,
    designEffect: deff,
    nReference: nr,
    nCurrent: nc,
    missingShareReference: ref.missing_share,
    missingShareCurrent: values.length ? missing / values.length : 0,
    labels,
    referenceShares: shares(refCounts),
    currentShares: shares(curCounts),
  };
}

function fmt(x: number): string {
  return Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x * 100) / 100) : x.toPrecision(3);
}

function categoricalDrift(
  name: string,
  ref: CategoricalProfile,
  values: ArrayLike<unknown>,
  params: DriftParams,
  alpha: number,
  clusters: ArrayLike<string> | undefined,
): FeatureDrift {
  const cats = Object.keys(ref.frequencies).sort();
  const index = new Map(cats.map((c, i) => [c, i]));
  const labels = [...cats, OTHER, MISSING];
  const refCounts = [...cats.map((c) => ref.frequencies[c]!), 0, ref.missing];
  const curCounts = new Array<number>(labels.length).fill(0);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      missing++;
      curCounts[labels.length - 1]!++;
      continue;
    }
    const j = index.get(String(v));
    curCounts[j === undefined ? cats.length : j]!++;
  }
  const nr = refCounts.reduce((s, c) => s + c, 0);
  const nc = values.length;
  const deff = clusters ? categoricalDesignEffect(values, clusters, labels, curCounts) : 1;
  const psiValue = psi(refCounts, curCounts);
  const used = refCounts.filter((c, i) => c + curCounts[i]! > 0).length;
  const psiLevel = Math.max(params.psiThreshold, psiCritical(used, nr / deff, nc / deff, alpha));
  let test: DriftTest;
  let statistic: number;
  let pValue: number | null = null;
  let threshold: number;
  let drifted: boolean;
  if (Math.min(nr, nc) <= params.smallSample) {
    test = 'chi_square';
    const chi = chiSquareTwoSample(refCounts, curCounts);
    // Rao–Scott first-order correction for clustered rows.
    statistic = chi.statistic / deff;
    pValue = chi.df ? chiSquareSurvival(statistic, chi.df) : 1;
    threshold = alpha;
    drifted = nc > 0 && pValue < alpha;
  } else {
    test = 'jensen_shannon';
    statistic = jensenShannon(refCounts, curCounts);
    threshold = Math.max(params.jensenShannonThreshold, jensenShannonCritical(used, nr / deff, nc / deff, alpha));
    drifted = statistic > threshold;
  }
  return {
    feature: name,
    kind: 'categorical',
    test,
    statistic,
    pValue,
    threshold,
    drifted,
    psi: psiValue,
    psiThreshold: psiLevel,
    designEffect: deff,
    nReference: nr,
    nCurrent: nc,
    missingShareReference: ref.missing_share,
    missingShareCurrent: nc ? missing / nc : 0,
    labels,
    referenceShares: shares(refCounts),
    currentShares: shares(curCounts),
  };
}

// Largest design effect over the indicators of the common categories (≥ 5% of the window).
function categoricalDesignEffect(
  values: ArrayLike<unknown>,
  clusters: ArrayLike<string>,
  labels: readonly string[],
  counts: readonly number[],
): number {
  const n = values.length;
  let deff = 1;
  const keys = values.length ? Array.from(values, (v) => (v === null || v === undefined ? MISSING : String(v))) : [];
  labels.forEach((label, j) => {
    if (!n || counts[j]! < 0.05 * n || counts[j] === n) return;
    const indicator = Float64Array.from(keys, (k) => (k === label ? 1 : 0));
    deff = Math.max(deff, designEffect(indicator, clusters));
  });
  return deff;
}

/**
 * Compare a window's feature columns with the reference profile, feature by feature. The test is
 * chosen by sample size as Evidently does (KS / chi-square up to `smallSample` rows, normalised
 * Wasserstein / Jensen–Shannon above), and every threshold is raised to the no-drift noise level of
 * the actual sample sizes, so a fresh sample of the reference distribution raises no alarm. With
 * `clusters` (the customer key of each row), sample sizes are discounted by each feature's design
 * effect (the reference is assumed clustered alike), since rows of one customer are not independent.
 *
 * @example
 * const drift = computeDrift(profile, { amount: [12.5, 80, null] }, DEFAULT_DRIFT_PARAMS);
 */
export function computeDrift(
  profile: Profile,
  columns: Readonly<Record<string, ArrayLike<unknown>>>,
  params: DriftParams,
  clusters?: ArrayLike<string>,
): DriftResult {
  const names = Object.keys(profile.columns).filter((n) => n in columns && !params.exclude.includes(n));
  // Bonferroni over the compared features: one alarm per run at most `alpha` of the time.
  const alpha = params.alpha / Math.max(1, names.length);
  const features = names.map((name) => {
    const ref = profile.columns[name]!;
    return ref.kind === 'numeric'
      ? numericDrift(name, ref, columns[name]!, params, alpha, clusters)
      : categoricalDrift(name, ref, columns[name]!, params, alpha, clusters);
  });
  const driftedCount = features.filter((f) => f.drifted).length;
  const rows = names.length ? columns[names[0]!]!.length : 0;
  return {
    features,
    driftedCount,
    shareDrifted: features.length ? driftedCount / features.length : 0,
    psiAboveCount: features.filter((f) => f.psi > f.psiThreshold).length,
    rows,
  };
}

/** Drift of the model's scores: the window's predictions against a reference set of scores. */
export interface ScoreDrift {
  readonly test: 'ks' | 'wasserstein';
  readonly statistic: number;
  readonly pValue: number | null;
  readonly drifted: boolean;
  readonly nReference: number;
  readonly nCurrent: number;
  readonly meanReference: number;
  readonly meanCurrent: number;
}

/** Two-sample KS on scores (both sides are raw samples here, so the test is exact). */
export function computeScoreDrift(reference: ArrayLike<number>, current: ArrayLike<number>, alpha: number): ScoreDrift {
  const d = ksTwoSample(reference, current);
  const p = ksPValue(d, reference.length, current.length);
  const mean = (xs: ArrayLike<number>) => (xs.length ? Array.from(xs).reduce((s, x) => s + x, 0) / xs.length : NaN);
  return {
    test: 'ks',
    statistic: d,
    pValue: p,
    drifted: reference.length > 0 && current.length > 0 && p < alpha,
    nReference: reference.length,
    nCurrent: current.length,
    meanReference: mean(reference),
    meanCurrent: mean(current),
  };
}

/** Build a reference profile from rows (used for tests and for a window without a stored profile). */
export function profileFromColumns(
  columns: Readonly<Record<string, ArrayLike<unknown>>>,
  kinds: Readonly<Record<string, 'numeric' | 'categorical'>>,
  bins = 20,
  createdFrom = 'columns',
): Profile {
  const out: Profile['columns'] = {};
  let rows = 0;
  for (const [name, kind] of Object.entries(kinds)) {
    const values = columns[name];
    if (!values) continue;
    rows = values.length;
    const present: unknown[] = [];
    for (let i = 0; i < values.length; i++)
      if (values[i] !== null && values[i] !== undefined && !(typeof values[i] === 'number' && Number.isNaN(values[i])))
        present.push(values[i]);
    const missing = values.length - present.length;
    if (kind === 'categorical') {
      const frequencies: Record<string, number> = {};
      for (const v of present) frequencies[String(v)] = (frequencies[String(v)] ?? 0) + 1;
      out[name] = {
        kind,
        count: present.length,
        missing,
        missing_share: values.length ? missing / values.length : 0,
        frequencies,
      };
      continue;
    }
    const nums = Float64Array.from(present.map(toNumber)).sort();
    const q = (p: number) => (nums.length ? nums[Math.min(nums.length - 1, Math.floor(p * nums.length))]! : 0);
    const edgeSet = new Set<number>();
    for (let i = 0; i <= bins; i++) edgeSet.add(q(i / bins));
    edgeSet.add(nums.length ? nums[nums.length - 1]! : 0);
    const edges = [...edgeSet].sort((a, b) => a - b);
    if (edges.length < 2) edges.push(edges[0]! + 1);
    const mean = nums.reduce((s, x) => s + x, 0) / Math.max(1, nums.length);
    const std = Math.sqrt(nums.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, nums.length - 1));
    out[name] = {
      kind,
      count: nums.length,
      missing,
      missing_share: values.length ? missing / values.length : 0,
      mean: nums.length ? mean : null,
      std: nums.length ? std : null,
      min: nums.length ? nums[0]! : null,
      max: nums.length ? nums[nums.length - 1]! : null,
      quantiles: { p01: q(0.01), p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) },
      bin_edges: edges,
      bin_counts: histogram(edges, nums),
    };
  }
  return { created_from: createdFrom, rows, columns: out };
}
