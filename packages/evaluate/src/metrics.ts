import {
  averagePrecision,
  brierScore,
  confusionAt,
  expectedCalibrationError,
  logLoss,
  rocAuc,
  seededRandom,
} from '@bolsillo/core';
import { descendingOrderOf, forEachTieGroupOrdered } from './order';
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

/** Metric names in the order every result lists them. */
const METRIC_KEYS: readonly MetricName[] = [
  'roc_auc',
  'pr_auc',
  'log_loss',
  'brier',
  'ece',
  'precision',
  'recall',
  'f1',
  'accuracy',
];
const CONFUSION_KEYS: readonly (keyof ConfusionCounts)[] = ['tp', 'fp', 'fn', 'tn'];

/**
 * ROC-AUC and average precision from the shared score order (`descendingOrder`): the core
 * functions' tie groups and sums in the same order, so the same numbers, without sorting again for
 * every metric and every call. Scores with NaN go to the core functions.
 */
function rankingMetrics(y: ArrayLike<number>, p: ArrayLike<number>): { roc_auc: number; pr_auc: number } {
  for (let i = 0; i < p.length; i++)
    if (Number.isNaN(p[i]!)) return { roc_auc: rocAuc(y, p), pr_auc: averagePrecision(y, p) };
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] ? 1 : 0;
  const neg = y.length - pos;
  let auc = 0;
  let posAbove = 0;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  forEachTieGroupOrdered(y, p, (gPos, gNeg) => {
    auc += gNeg * (posAbove + gPos / 2);
    posAbove += gPos;
    tp += gPos;
    fp += gNeg;
    const recall = tp / pos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  });
  return { roc_auc: pos === 0 || neg === 0 ? NaN : auc / (pos * neg), pr_auc: pos === 0 ? NaN : ap };
}

type PointResult = { metrics: Record<MetricName, number>; confusion: ConfusionCounts };
/** Point metrics already computed, by score array (the gate's paired deltas ask again for the same ones). */
const pointCache = new WeakMap<object, { y: unknown; threshold: number; bins: number; result: PointResult }[]>();

/** Point values of all metrics at a threshold, with the shared core metric definitions. */
export function pointMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number, bins: number): PointResult {
  if (y.length !== p.length) throw new Error(`metrics: ${y.length} labels but ${p.length} scores`);
  const cached = pointCache.get(p as object);
  const hit = cached?.find((c) => c.y === y && Object.is(c.threshold, threshold) && c.bins === bins);
  if (hit) return hit.result;
  const c = confusionAt(y, p, threshold);
  const ranking = rankingMetrics(y, p);
  const result: PointResult = {
    metrics: {
      roc_auc: ranking.roc_auc,
      pr_auc: ranking.pr_auc,
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
  if (cached) cached.push({ y, threshold, bins, result });
  else pointCache.set(p as object, [{ y, threshold, bins, result }]);
  return result;
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
 * One model on one resampling design, ready for resamples: its rows in score order (ties in row
 * order) as the unit (customer or row) of each, the per-row terms that do not change between
 * resamples, and the groups of tied scores (a group shares its score, so its reliability bin and
 * whether it is flagged).
 */
interface Prepared {
  readonly unitOf: Uint32Array;
  readonly t: Uint8Array;
  readonly ll: Float64Array;
  readonly br: Float64Array;
  /** Start of every tie group in score order, and the rows' count at the end. */
  readonly groupStart: Uint32Array;
  readonly groupScore: Float64Array;
  readonly groupBin: Int32Array;
  readonly groupFlagged: Uint8Array;
}

/** The unit of every row of the design, indexed by row (rows outside the design are never read). */
function unitOfRows(n: number, d: ResampleDesign): Uint32Array {
  const out = new Uint32Array(n);
  for (let u = 0; u < d.units; u++) for (let k = d.start[u]!; k < d.start[u + 1]!; k++) out[d.rows[d.members[k]!]!] = u;
  return out;
}

function prepare(
  unitOfRow: Uint32Array,
  d: ResampleDesign,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  bins: number,
): Prepared {
  const order = descendingOrderOf(p, d.rows);
  const m = order.length;
  const unitOf = new Uint32Array(m);
  const t = new Uint8Array(m);
  const ll = new Float64Array(m);
  const br = new Float64Array(m);
  const starts: number[] = [];
  for (let k = 0; k < m; k++) {
    const i = order[k]!;
    unitOf[k] = unitOfRow[i]!;
    const yi = y[i] ? 1 : 0;
    const q = p[i]!;
    if (k === 0 || !(q === p[order[k - 1]!])) starts.push(k);
    const qc = Math.min(Math.max(q, 1e-12), 1 - 1e-12);
    t[k] = yi;
    ll[k] = yi ? -Math.log(qc) : -Math.log(1 - qc);
    br[k] = (q - yi) ** 2;
  }
  const groups = starts.length;
  const groupStart = new Uint32Array(groups + 1);
  const groupScore = new Float64Array(groups);
  const groupBin = new Int32Array(groups);
  const groupFlagged = new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const q = p[order[starts[g]!]!]!;
    groupStart[g] = starts[g]!;
    groupScore[g] = q;
    groupBin[g] = Math.min(bins - 1, Math.max(0, Math.floor(q * bins)));
    groupFlagged[g] = q >= threshold ? 1 : 0;
  }
  groupStart[groups] = m;
  return { unitOf, t, ll, br, groupStart, groupScore, groupBin, groupFlagged };
}

/**
 * Every metric of one resample given as draw counts per unit: the same definitions as the core
 * functions on the expanded resample (ties grouped, zero-weight rows absent), in one pass over the
 * pre-sorted rows instead of a sort per resample. `P` is the resample's positives (needed up front
 * by average precision). Every floating-point sum adds the rows' terms one by one in score order, as
 * the expanded resample's would (a row drawn 0 times adds an exact 0); counts are integers.
 */
function weightedMetrics(
  pr: Prepared,
  cnt: Uint32Array,
  P: number,
  bins: number,
): { metrics: Record<MetricName, number>; confusion: ConfusionCounts } {
  const { unitOf, t: T, ll: LL, br: BR, groupStart, groupScore, groupBin, groupFlagged } = pr;
  const groups = groupScore.length;
  let N = 0;
  let tp = 0;
  let fp = 0;
  let ll = 0;
  let br = 0;
  const bc = new Float64Array(bins);
  const bp = new Float64Array(bins);
  const by = new Float64Array(bins);
  // Ranking metrics: walk tied-score groups from the top.
  let auc = 0;
  let ap = 0;
  let posAbove = 0;
  let cTp = 0;
  let cFp = 0;
  let prevRecall = 0;
  for (let g = 0; g < groups; g++) {
    const s = groupScore[g]!;
    const b = groupBin[g]!;
    let bpb = bp[b]!;
    let gPos = 0;
    let gAll = 0;
    const end = groupStart[g + 1]!;
    for (let k = groupStart[g]!; k < end; k++) {
      const c = cnt[unitOf[k]!]!;
      gAll += c;
      gPos += c * T[k]!;
      ll += c * LL[k]!;
      br += c * BR[k]!;
      bpb += c * s;
    }
    bp[b] = bpb;
    const gNeg = gAll - gPos;
    N += gNeg;
    if (gAll === 0) continue;
    bc[b]! += gAll;
    by[b]! += gPos;
    if (groupFlagged[g]) {
      tp += gPos;
      fp += gNeg;
    }
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
  const n = P + N;
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

/** A model's scores on the rows and the threshold it flags at. */
export interface ScoredModel {
  readonly scores: ArrayLike<number>;
  readonly threshold: number;
}

/**
 * The seeded resamples of one design, each evaluated for every model: one draw of units per
 * resample (whole customers, or rows), counted for all models alike, so models scored on the same
 * rows are compared on identical resamples (paired). `visit` gets each resample's metrics per model.
 * With one unit per row this is the random sequence of {@link bootstrapIndices}.
 */
function forEachResample(
  y: ArrayLike<number>,
  models: readonly ScoredModel[],
  d: ResampleDesign,
  options: BootstrapOptions,
  visit: (results: { metrics: Record<MetricName, number>; confusion: ConfusionCounts }[]) => void,
): void {
  const m = d.rows.length;
  if (m === 0 || options.iterations <= 0) return;
  const unitOfRow = unitOfRows(y.length, d);
  const prepared = models.map((x) => prepare(unitOfRow, d, y, x.scores, x.threshold, options.bins));
  // Positives of each unit: a resample's positives without a pass over its rows.
  const unitPos = new Float64Array(d.units);
  for (let k = 0; k < m; k++) unitPos[unitOfRow[d.rows[k]!]!]! += y[d.rows[k]!] ? 1 : 0;
  const cnt = new Uint32Array(d.units);
  const rand = seededRandom(options.seed);
  const units = d.units;
  for (let b = 0; b < options.iterations; b++) {
    cnt.fill(0);
    for (let i = 0; i < units; i++) cnt[Math.floor(rand() * units)]!++;
    let P = 0;
    for (let u = 0; u < units; u++) P += cnt[u]! * unitPos[u]!;
    visit(prepared.map((pr) => weightedMetrics(pr, cnt, P, options.bins)));
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
  return evaluateModels(y, [{ scores: p, threshold }], options)[0]!;
}

/**
 * {@link evaluateScores} of several models scored on the same rows, from one set of resamples:
 * each model's result equals its own {@link evaluateScores} call with the same options (the draws
 * depend on the seed and the rows only), at the cost of one draw per resample for all of them.
 */
export function evaluateModels(
  y: ArrayLike<number>,
  models: readonly ScoredModel[],
  options: BootstrapOptions,
): MetricSet[] {
  for (const x of models)
    if (y.length !== x.scores.length) throw new Error(`evaluate: ${y.length} labels but ${x.scores.length} scores`);
  const points = models.map((x) => pointMetrics(y, x.scores, x.threshold, options.bins));
  const names = METRIC_KEYS;
  const cnames = CONFUSION_KEYS;
  const samples = models.map(
    () => Object.fromEntries([...names, ...cnames].map((k) => [k, [] as number[]])) as Record<string, number[]>,
  );
  const n = y.length;
  const d = resampleDesign(n, options);
  const m = d.rows.length;
  const scale = m > 0 ? n / m : 1;
  forEachResample(y, models, d, options, (results) => {
    results.forEach((r, j) => {
      const s = samples[j]!;
      for (const k of names) if (Number.isFinite(r.metrics[k])) s[k]!.push(r.metrics[k]);
      for (const k of cnames) s[k]!.push(r.confusion[k] * scale);
    });
  });
  const alpha = (1 - options.confidence) / 2;
  const estimate = (value: number, s: number[]): Estimate => ({
    value,
    ...interval(value, s, alpha, d.units, d.totalUnits),
  });
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] ? 1 : 0;
  const customers = options.groups ? customerCounts(y, options.groups) : {};
  return models.map((x, j) => ({
    n,
    positives,
    ...customers,
    threshold: x.threshold,
    bootstrap_unit: d.unit,
    bootstrap_rows: m,
    ...(options.groups ? { bootstrap_customers: d.units } : {}),
    metrics: Object.fromEntries(names.map((k) => [k, estimate(points[j]!.metrics[k], samples[j]![k]!)])) as Record<
      MetricName,
      Estimate
    >,
    confusion: Object.fromEntries(cnames.map((k) => [k, estimate(points[j]!.confusion[k], samples[j]![k]!)])) as Record<
      keyof ConfusionCounts,
      Estimate
    >,
  }));
}

/**
 * Paired bootstrap of the difference `a − b` of every metric (each model at its own threshold):
 * both models are scored on the same resamples (of whole customers when `options.groups` is
 * given), so the interval reflects the models' difference, not the noise of the rows. An interval
 * that excludes 0 is a real difference.
 */
export function pairedDifference(
  y: ArrayLike<number>,
  a: ScoredModel,
  b: ScoredModel,
  options: BootstrapOptions,
): Record<MetricName, Estimate> {
  return pairedDifferences(y, [a, b], [[0, 1]], options)[0]!;
}

/**
 * {@link pairedDifference} of several pairs of `models` (indices into it) from one set of
 * resamples: each pair's result equals its own {@link pairedDifference} call with the same options.
 */
export function pairedDifferences(
  y: ArrayLike<number>,
  models: readonly ScoredModel[],
  pairs: readonly (readonly [number, number])[],
  options: BootstrapOptions,
): Record<MetricName, Estimate>[] {
  const points = models.map((x) => pointMetrics(y, x.scores, x.threshold, options.bins).metrics);
  const names = METRIC_KEYS;
  const samples = pairs.map(
    () => Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<string, number[]>,
  );
  const d = resampleDesign(y.length, options);
  forEachResample(y, models, d, options, (results) => {
    pairs.forEach(([ia, ib], j) => {
      const ma = results[ia]!.metrics;
      const mb = results[ib]!.metrics;
      for (const k of names) {
        const diff = ma[k] - mb[k];
        if (Number.isFinite(diff)) samples[j]![k]!.push(diff);
      }
    });
  });
  const alpha = (1 - options.confidence) / 2;
  return pairs.map(
    ([ia, ib], j) =>
      Object.fromEntries(
        names.map((k) => {
          const value = points[ia]![k] - points[ib]![k];
          return [k, { value, ...interval(value, samples[j]![k]!, alpha, d.units, d.totalUnits) }];
        }),
      ) as Record<MetricName, Estimate>,
  );
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
  const { ids, start, rows } = rowsByCustomer(groups, y.length);
  return ids.map((customer, c) => {
    const from = start[c]!;
    const n = start[c + 1]! - from;
    const yy = new Uint8Array(n);
    const pp = new Float64Array(n);
    let positives = 0;
    for (let k = 0; k < n; k++) {
      const i = rows[from + k]!;
      yy[k] = y[i] ? 1 : 0;
      positives += yy[k]!;
      pp[k] = p[i]!;
    }
    return {
      customer,
      rows: n,
      positives,
      pr_auc: positives > 0 ? averagePrecision(yy, pp) : NaN,
      roc_auc: positives > 0 && positives < n ? rocAuc(yy, pp) : NaN,
    };
  });
}

/** Rows grouped by customer already computed, by customer-id array (every contender of a split shares it). */
const customerRows = new WeakMap<object, { ids: number[]; start: Uint32Array; rows: Uint32Array }>();

/**
 * The rows of each customer, customers by ascending id and rows in row order (a counting sort): one
 * typed index list for all contenders instead of a `number[]` per customer per contender.
 */
function rowsByCustomer(
  groups: ArrayLike<number>,
  n: number,
): { ids: number[]; start: Uint32Array; rows: Uint32Array } {
  const hit = customerRows.get(groups as object);
  if (hit && hit.rows.length === n) return hit;
  const slot = new Map<number, number>();
  const counts: number[] = [];
  const of = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    let s = slot.get(g);
    if (s === undefined) {
      slot.set(g, (s = counts.length));
      counts.push(0);
    }
    of[i] = s;
    counts[s]!++;
  }
  const ids = [...slot.keys()].sort((a, b) => a - b);
  const rank = new Uint32Array(counts.length);
  ids.forEach((id, r) => (rank[slot.get(id)!] = r));
  const start = new Uint32Array(ids.length + 1);
  for (let s = 0; s < counts.length; s++) start[rank[s]! + 1] = counts[s]!;
  for (let r = 0; r < ids.length; r++) start[r + 1]! += start[r]!;
  const next = start.slice(0, ids.length);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[next[rank[of[i]!]!]!++] = i;
  const out = { ids, start, rows };
  customerRows.set(groups as object, out);
  return out;
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
