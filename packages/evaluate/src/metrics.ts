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
  /** Customers the rows come from, and customers with a positive row (when the rows carry customers). */
  readonly customers?: number;
  readonly positive_customers?: number;
  readonly threshold: number;
  /** What the bootstrap resamples: whole customers (cluster bootstrap) or rows. */
  readonly bootstrap_unit?: 'customer' | 'row';
  /** Rows the bootstrap resampled (n, or the cap when the split is larger); intervals are rescaled to n. */
  readonly bootstrap_rows?: number;
  /** Customers the bootstrap resampled (all, or whole customers up to the row cap). */
  readonly bootstrap_customers?: number;
  readonly metrics: Record<MetricName, Estimate>;
  readonly confusion: Record<keyof ConfusionCounts, Estimate>;
}

/** Point values of all metrics at a threshold, through the shared core metric functions. */
export function pointMetrics(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  bins: number,
): { metrics: Record<MetricName, number>; confusion: ConfusionCounts } {
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
 * Kept for callers that want explicit indices; the metric functions below draw the same
 * sequence straight into per-row counts, which needs no per-resample allocation.
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

/** Options of the bootstrap: resamples, confidence, seed, reliability bins, customers and an optional row cap. */
export interface BootstrapOptions {
  readonly iterations: number;
  readonly confidence: number;
  readonly seed: number;
  readonly bins: number;
  /**
   * Customer (cluster) of every row, as small integers: the bootstrap then resamples whole
   * customers with replacement (every row of a drawn customer counts once per draw), so the
   * intervals reflect how results vary across people, not across rows of the same people.
   * Absent: rows are resampled.
   */
  readonly groups?: ArrayLike<number>;
  /**
   * Bootstrap at most this many rows: above it, the intervals come from a seeded subsample of
   * `maxRows` rows (whole customers when `groups` is given; m-out-of-n bootstrap) and are rescaled
   * to the full size by √(m/n) (m, n: customers when clustered, else rows) around the full-data
   * point estimate; counts are scaled by the row ratio. Point estimates always use every row.
   */
  readonly maxRows?: number;
}

/**
 * What one bootstrap resamples: the (possibly capped) rows, and the units drawn, as a CSR list of
 * positions into `rows` (one unit per row, or one per customer).
 */
export interface ResampleDesign {
  readonly rows: Uint32Array;
  readonly start: Uint32Array;
  readonly members: Uint32Array;
  /** Units in the design, and in the whole split (for the √ rescale when capped). */
  readonly units: number;
  readonly totalUnits: number;
  readonly unit: 'customer' | 'row';
}

/** The resampling design of a split: rows, or whole customers (capped at `maxRows` rows by a seeded choice of customers). */
export function resampleDesign(
  n: number,
  options: Pick<BootstrapOptions, 'groups' | 'maxRows' | 'seed'>,
): ResampleDesign {
  const groups = options.groups;
  if (!groups) {
    const rows = bootstrapRows(n, options.maxRows, options.seed);
    const m = rows.length;
    const start = new Uint32Array(m + 1);
    for (let i = 0; i <= m; i++) start[i] = i;
    const members = new Uint32Array(m);
    for (let i = 0; i < m; i++) members[i] = i;
    return { rows, start, members, units: m, totalUnits: n, unit: 'row' };
  }
  if (groups.length !== n) throw new Error(`evaluate: ${n} rows but ${groups.length} customer ids`);
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  }
  const ids = [...byGroup.keys()].sort((a, b) => a - b);
  let chosen = ids;
  if (options.maxRows !== undefined && options.maxRows < n) {
    const rand = seededRandom(options.seed ^ 0x5bd1e995);
    const order = [...ids];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    chosen = [];
    let rowsTaken = 0;
    for (const g of order) {
      if (rowsTaken >= options.maxRows) break;
      chosen.push(g);
      rowsTaken += byGroup.get(g)!.length;
    }
    chosen.sort((a, b) => a - b);
  }
  const rowList: number[] = [];
  for (const g of chosen) rowList.push(...byGroup.get(g)!);
  const rows = Uint32Array.from(rowList).sort();
  const at = new Map<number, number>();
  rows.forEach((r, k) => at.set(r, k));
  const start = new Uint32Array(chosen.length + 1);
  const members = new Uint32Array(rows.length);
  let k = 0;
  chosen.forEach((g, c) => {
    start[c] = k;
    for (const r of byGroup.get(g)!) members[k++] = at.get(r)!;
  });
  start[chosen.length] = k;
  return { rows, start, members, units: chosen.length, totalUnits: ids.length, unit: 'customer' };
}

/** Indices sorted by score, descending (one sort per call; every resample reuses it). */
function orderDesc(p: ArrayLike<number>, rows: Uint32Array): Uint32Array {
  return Uint32Array.from(rows).sort((a, b) => p[b]! - p[a]!);
}

/** Seeded subsample without replacement of `m` of `n` row indices (all rows when m ≥ n), in index order. */
export function bootstrapRows(n: number, maxRows: number | undefined, seed: number): Uint32Array {
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  if (maxRows === undefined || maxRows >= n) return all;
  const rand = seededRandom(seed ^ 0x5bd1e995);
  // Partial Fisher–Yates: the first m slots are a uniform sample.
  for (let i = 0; i < maxRows; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, maxRows).sort();
}

/**
 * Every metric of one resample given as per-row counts `w` (aligned with `order`'s row ids):
 * the same definitions as the core functions on the expanded resample (ties grouped, zero-weight
 * rows absent), in one pass over the pre-sorted rows instead of a sort per resample.
 */
/** Per-row terms that do not change between resamples (computed once per call, in score order). */
interface RowTerms {
  readonly t: Uint8Array;
  readonly ll: Float64Array;
  readonly br: Float64Array;
  readonly bin: Int32Array;
  readonly flagged: Uint8Array;
  /** Scores in score order (sequential memory access in the resample loops). */
  readonly q: Float64Array;
}

function rowTerms(
  order: Uint32Array,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  bins: number,
): RowTerms {
  const m = order.length;
  const t = new Uint8Array(m);
  const ll = new Float64Array(m);
  const br = new Float64Array(m);
  const bin = new Int32Array(m);
  const flagged = new Uint8Array(m);
  const qs = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const i = order[k]!;
    const yi = y[i] ? 1 : 0;
    const q = p[i]!;
    qs[k] = q;
    const qc = Math.min(Math.max(q, 1e-12), 1 - 1e-12);
    t[k] = yi;
    ll[k] = yi ? -Math.log(qc) : -Math.log(1 - qc);
    br[k] = (q - yi) ** 2;
    bin[k] = Math.min(bins - 1, Math.max(0, Math.floor(q * bins)));
    flagged[k] = q >= threshold ? 1 : 0;
  }
  return { t, ll, br, bin, flagged, q: qs };
}

function weightedMetrics(
  order: Uint32Array,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w: Uint32Array,
  threshold: number,
  bins: number,
  terms: RowTerms = rowTerms(order, y, p, threshold, bins),
): { metrics: Record<MetricName, number>; confusion: ConfusionCounts } {
  let P = 0;
  let N = 0;
  let tp = 0;
  let fp = 0;
  let ll = 0;
  let br = 0;
  const bc = new Float64Array(bins);
  const bp = new Float64Array(bins);
  const by = new Float64Array(bins);
  for (let k = 0; k < order.length; k++) {
    const c = w[k]!;
    if (c === 0) continue;
    const t = terms.t[k]!;
    const q = terms.q[k]!;
    if (t) P += c;
    else N += c;
    if (terms.flagged[k]) {
      if (t) tp += c;
      else fp += c;
    }
    ll += c * terms.ll[k]!;
    br += c * terms.br[k]!;
    const b = terms.bin[k]!;
    bc[b]! += c;
    bp[b]! += c * q;
    by[b]! += c * t;
  }
  const n = P + N;
  // Ranking metrics: walk tied-score groups from the top.
  let auc = 0;
  let ap = 0;
  let posAbove = 0;
  let cTp = 0;
  let cFp = 0;
  let prevRecall = 0;
  let k = 0;
  while (k < order.length) {
    const s = terms.q[k]!;
    let gPos = 0;
    let gNeg = 0;
    while (k < order.length && terms.q[k] === s) {
      const c = w[k]!;
      if (terms.t[k]) gPos += c;
      else gNeg += c;
      k++;
    }
    if (gPos + gNeg === 0) continue;
    auc += gNeg * (posAbove + gPos / 2);
    posAbove += gPos;
    cTp += gPos;
    cFp += gNeg;
    if (P > 0) {
      const recall = cTp / P;
      ap += (recall - prevRecall) * (cTp / (cTp + cFp));
      prevRecall = recall;
    }
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (bc[b]! > 0) ece += (bc[b]! / n) * Math.abs(bp[b]! / bc[b]! - by[b]! / bc[b]!);
  const fn = P - tp;
  const tn = N - fp;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    metrics: {
      roc_auc: P > 0 && N > 0 ? auc / (P * N) : NaN,
      pr_auc: P > 0 ? ap : NaN,
      log_loss: ll / n,
      brier: br / n,
      ece: n ? ece : NaN,
      precision,
      recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
      accuracy: n ? (tp + tn) / n : NaN,
    },
    confusion: { tp, fp, fn, tn },
  };
}

/**
 * Draw one resample as per-row counts: `units` draws with replacement of a unit (a row, or a
 * customer whose every row is counted). With one unit per row this is the same random sequence as
 * {@link bootstrapIndices}. Every `w` gets the same counts (the models' score orders of one resample).
 */
function drawCounts(
  rand: () => number,
  d: ResampleDesign,
  w: readonly Uint32Array[],
  pos: readonly Uint32Array[],
): void {
  for (const x of w) x.fill(0);
  const units = d.units;
  for (let i = 0; i < units; i++) {
    const c = Math.floor(rand() * units);
    for (let k = d.start[c]!; k < d.start[c + 1]!; k++) {
      const r = d.members[k]!;
      for (let j = 0; j < w.length; j++) w[j]![pos[j]![r]!]!++;
    }
  }
}

/** Customers and customers with a positive row among `y`'s rows. */
export function customerCounts(
  y: ArrayLike<number>,
  groups: ArrayLike<number>,
): { customers: number; positive_customers: number } {
  const all = new Set<number>();
  const pos = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    all.add(groups[i]!);
    if (y[i]) pos.add(groups[i]!);
  }
  return { customers: all.size, positive_customers: pos.size };
}

/** Percentile interval of resampled values, rescaled from m to n units around the point value when subsampled. */
function interval(value: number, s: number[], alpha: number, m: number, n: number): { lo: number; hi: number } {
  s.sort((a, b) => a - b);
  const lo = percentile(s, alpha);
  const hi = percentile(s, 1 - alpha);
  if (m >= n) return { lo, hi };
  const f = Math.sqrt(m / n);
  return { lo: value + f * (lo - value), hi: value + f * (hi - value) };
}

/** Position of each sampled row in the score order, so counts can be kept in order position. */
function positions(rows: Uint32Array, order: Uint32Array): Uint32Array {
  const at = new Map<number, number>();
  for (let k = 0; k < order.length; k++) at.set(order[k]!, k);
  return Uint32Array.from(rows, (r) => at.get(r)!);
}

/**
 * All metrics with seeded bootstrap percentile intervals. Resamples where a metric is undefined
 * (one class only) are skipped for that metric rather than poisoning the interval. Each call sorts
 * the scores once; a resample costs one pass over the (possibly capped, see
 * {@link BootstrapOptions.maxRows}) rows.
 *
 * @example evaluateScores(labels, probs, 0.31, { iterations: 300, confidence: 0.95, seed: 7, bins: 10 })
 */
export function evaluateScores(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  options: BootstrapOptions,
): MetricSet {
  if (y.length !== p.length) throw new Error(`evaluate: ${y.length} labels but ${p.length} scores`);
  const point = pointMetrics(y, p, threshold, options.bins);
  const names = Object.keys(point.metrics) as MetricName[];
  const cnames = Object.keys(point.confusion) as (keyof ConfusionCounts)[];
  const samples: Record<string, number[]> = Object.fromEntries([...names, ...cnames].map((k) => [k, []]));
  const n = y.length;
  const d = resampleDesign(n, options);
  const rows = d.rows;
  const m = rows.length;
  const order = orderDesc(p, rows);
  const pos = positions(rows, order);
  const w = new Uint32Array(m);
  const rand = seededRandom(options.seed);
  const scale = m > 0 ? n / m : 1;
  const terms = rowTerms(order, y, p, threshold, options.bins);
  for (let b = 0; b < options.iterations && m > 0; b++) {
    drawCounts(rand, d, [w], [pos]);
    const r = weightedMetrics(order, y, p, w, threshold, options.bins, terms);
    for (const k of names) if (Number.isFinite(r.metrics[k])) samples[k]!.push(r.metrics[k]);
    for (const k of cnames) samples[k]!.push(r.confusion[k] * scale);
  }
  const alpha = (1 - options.confidence) / 2;
  const estimate = (value: number, s: number[]): Estimate => ({
    value,
    ...interval(value, s, alpha, d.units, d.totalUnits),
  });
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] ? 1 : 0;
  return {
    n,
    positives,
    ...(options.groups ? customerCounts(y, options.groups) : {}),
    threshold,
    bootstrap_unit: d.unit,
    bootstrap_rows: m,
    ...(options.groups ? { bootstrap_customers: d.units } : {}),
    metrics: Object.fromEntries(names.map((k) => [k, estimate(point.metrics[k], samples[k]!)])) as Record<
      MetricName,
      Estimate
    >,
    confusion: Object.fromEntries(cnames.map((k) => [k, estimate(point.confusion[k], samples[k]!)])) as Record<
      keyof ConfusionCounts,
      Estimate
    >,
  };
}

/**
 * Paired bootstrap of the difference `a − b` of every metric (each model at its own threshold):
 * both models are scored on the same resamples (of whole customers when `options.groups` is
 * given), so the interval reflects the models' difference, not the noise of the rows. An interval
 * that excludes 0 is a real difference.
 */
export function pairedDifference(
  y: ArrayLike<number>,
  a: { scores: ArrayLike<number>; threshold: number },
  b: { scores: ArrayLike<number>; threshold: number },
  options: BootstrapOptions,
): Record<MetricName, Estimate> {
  const pa = pointMetrics(y, a.scores, a.threshold, options.bins).metrics;
  const pb = pointMetrics(y, b.scores, b.threshold, options.bins).metrics;
  const names = Object.keys(pa) as MetricName[];
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const n = y.length;
  const d = resampleDesign(n, options);
  const rows = d.rows;
  const m = rows.length;
  const orderA = orderDesc(a.scores, rows);
  const orderB = orderDesc(b.scores, rows);
  const posA = positions(rows, orderA);
  const posB = positions(rows, orderB);
  const wa = new Uint32Array(m);
  const wb = new Uint32Array(m);
  const rand = seededRandom(options.seed);
  const termsA = rowTerms(orderA, y, a.scores, a.threshold, options.bins);
  const termsB = rowTerms(orderB, y, b.scores, b.threshold, options.bins);
  for (let it = 0; it < options.iterations && m > 0; it++) {
    // One draw, counted in both models' score orders: the same resample for both.
    drawCounts(rand, d, [wa, wb], [posA, posB]);
    const ma = weightedMetrics(orderA, y, a.scores, wa, a.threshold, options.bins, termsA).metrics;
    const mb = weightedMetrics(orderB, y, b.scores, wb, b.threshold, options.bins, termsB).metrics;
    for (const k of names) {
      const d = ma[k] - mb[k];
      if (Number.isFinite(d)) samples[k]!.push(d);
    }
  }
  const alpha = (1 - options.confidence) / 2;
  return Object.fromEntries(
    names.map((k) => [
      k,
      { value: pa[k] - pb[k], ...interval(pa[k] - pb[k], samples[k]!, alpha, d.units, d.totalUnits) },
    ]),
  ) as Record<MetricName, Estimate>;
}

/** One customer's ranking metrics (NaN where undefined: PR-AUC needs a positive, ROC-AUC both classes). */
export interface CustomerMetrics {
  readonly customer: number;
  readonly rows: number;
  readonly positives: number;
  readonly pr_auc: number;
  readonly roc_auc: number;
}

/** Spread of a per-customer metric over the customers where it is defined. */
export interface Spread {
  readonly customers: number;
  readonly min: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly max: number;
}

/** Ranking metrics of one model within each customer's rows (how it does person by person). */
export function perCustomerMetrics(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  groups: ArrayLike<number>,
): CustomerMetrics[] {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = byGroup.get(groups[i]!);
    if (list) list.push(i);
    else byGroup.set(groups[i]!, [i]);
  }
  return [...byGroup.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([customer, idx]) => {
      const yy = idx.map((i) => (y[i] ? 1 : 0));
      const pp = idx.map((i) => p[i]!);
      const positives = yy.reduce((s: number, v) => s + v, 0);
      return {
        customer,
        rows: idx.length,
        positives,
        pr_auc: positives > 0 ? averagePrecision(yy, pp) : NaN,
        roc_auc: positives > 0 && positives < idx.length ? rocAuc(yy, pp) : NaN,
      };
    });
}

/** Quantiles of the finite values (NaN fields when none). */
export function spreadOf(values: readonly number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    customers: v.length,
    min: v[0] ?? NaN,
    p25: percentile(v, 0.25),
    median: percentile(v, 0.5),
    p75: percentile(v, 0.75),
    max: v[v.length - 1] ?? NaN,
  };
}
