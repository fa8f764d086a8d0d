import { averagePrecision, logLoss, seededRandom } from '@bolsillo/core';
import {
  featureDeclaration,
  type IdentityCandidate,
  type IdentityReport as IdentityRecord,
  type IdentityRound,
} from '@bolsillo/schema';
import { discretise, toNumeric } from './encode';
import { cellReader, column, type Frame } from './frame';
import type { BuildParams } from './params';
import { assignGroups } from './splits';

/** Params of the identity step (`selection.identity`). */
export type IdentityParams = NonNullable<BuildParams['selection']['identity']>;

export type { IdentityCandidate, IdentityRound };

/** The identity step's record (`selection.json` `identity`), with its params typed. */
export type IdentityReport = Omit<IdentityRecord, 'params'> & { readonly params: IdentityParams };

/**
 * How much of a feature is a customer attribute, on the given rows (0 none, 1 a pure attribute):
 * eta² of the customer for numbers (finite values); for categories and booleans Goodman–Kruskal
 * lambda, (rows at their customer's most common value − rows at the overall most common value) /
 * (rows − rows at the overall most common value), so a value that is rare everywhere (a holiday)
 * does not look like an attribute.
 */
export function customerShare(
  frame: Frame,
  name: string,
  customers: Int32Array,
  rows: ArrayLike<number>,
): { measure: IdentityCandidate['measure']; share: number } {
  const decl = featureDeclaration(name);
  if (!decl) throw new Error(`identity: "${name}" is not a declared feature`);
  if (decl.dtype === 'number' || decl.dtype === 'integer') {
    const x = toNumeric(column(frame, name), rows);
    const sum = new Map<number, [number, number]>();
    let n = 0;
    let total = 0;
    for (let k = 0; k < rows.length; k++) {
      const v = x[k]!;
      if (!Number.isFinite(v)) continue;
      n++;
      total += v;
      const c = customers[k]!;
      const s = sum.get(c);
      if (s) {
        s[0] += v;
        s[1]++;
      } else sum.set(c, [v, 1]);
    }
    if (n === 0) return { measure: 'eta_squared', share: 0 };
    const mean = total / n;
    let ssTotal = 0;
    for (let k = 0; k < rows.length; k++) if (Number.isFinite(x[k]!)) ssTotal += (x[k]! - mean) ** 2;
    let ssBetween = 0;
    for (const [s, m] of sum.values()) ssBetween += m * (s / m - mean) ** 2;
    return { measure: 'eta_squared', share: ssTotal > 0 ? Math.min(1, ssBetween / ssTotal) : 1 };
  }
  const at = cellReader(column(frame, name));
  const counts = new Map<string, number>();
  const overall = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const value = String(at(rows[k]!));
    const key = `${customers[k]}\u0000${value}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    overall.set(value, (overall.get(value) ?? 0) + 1);
  }
  const modal = new Map<number, number>();
  for (const [key, c] of counts) {
    const customer = Number(key.slice(0, key.indexOf('\u0000')));
    modal.set(customer, Math.max(modal.get(customer) ?? 0, c));
  }
  let held = 0;
  for (const c of modal.values()) held += c;
  const top = Math.max(0, ...overall.values());
  return { measure: 'lambda', share: rows.length > top ? (held - top) / (rows.length - top) : 1 };
}

/** Features as bin codes over the sample rows: the additive model's whole input. */
interface Binned {
  readonly codes: Int32Array[];
  readonly levels: number[];
}

function binFeatures(frame: Frame, names: readonly string[], rows: ArrayLike<number>, bins: number): Binned {
  const codes = names.map((name) => discretise(column(frame, name), featureDeclaration(name)!.dtype, rows, bins));
  return { codes, levels: codes.map((c) => c.reduce((m, v) => Math.max(m, v), 0) + 1) };
}

const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

/** Rows of one fit, gathered: each feature's bin codes and the target, contiguous in fit order. */
interface Gathered {
  readonly n: number;
  readonly y: Int8Array;
  /** Bin codes by feature index of {@link Binned} (every feature, whichever subset a fit uses). */
  readonly codes: readonly Int32Array[];
}

function gather(x: Binned, y: Int8Array, rows: Uint32Array): Gathered {
  const n = rows.length;
  return {
    n,
    y: Int8Array.from(rows, (i) => y[i]!),
    codes: x.codes.map((all) => {
      const out = new Int32Array(n);
      for (let k = 0; k < n; k++) out[k] = all[rows[k]!]!;
      return out;
    }),
  };
}

/**
 * The fit of {@link fitAdditiveLogit} over gathered rows. Each margin update is fused with the next
 * sweep's sigmoid (the same operations on each row in the same order, so the same bits as one loop
 * after the other), and the codes are read contiguously: this is the identity step's whole cost.
 */
function fitGathered(
  fit: Gathered,
  levels: readonly number[],
  features: readonly number[],
  p: Pick<IdentityParams, 'l2' | 'passes'>,
): { bias: number; weights: Float64Array[] } {
  const n = fit.n;
  const yv = fit.y;
  let pos = 0;
  for (let k = 0; k < n; k++) pos += yv[k]!;
  const prior = (pos + 0.5) / (n + 1);
  let bias = Math.log(prior / (1 - prior));
  const weights = features.map((f) => new Float64Array(levels[f]!));
  const margin = new Float64Array(n).fill(bias);
  const maxLevels = features.reduce((m, f) => Math.max(m, levels[f]!), 1);
  const grad = new Float64Array(maxLevels);
  const hess = new Float64Array(maxLevels);
  // The margin update still owed to every row: a bias shift, or a step by bin of the last feature.
  let owedShift = 0;
  let owedStep: Float64Array | null = null;
  let owedCodes: Int32Array | null = null;
  const steps = features.map((f) => new Float64Array(levels[f]!));
  for (let pass = 0; pass < p.passes; pass++) {
    let g = 0;
    let h = 0;
    if (owedStep) {
      const step = owedStep;
      const codes = owedCodes!;
      for (let k = 0; k < n; k++) {
        const m = (margin[k] = margin[k]! - step[codes[k]!]!);
        const q = 1 / (1 + Math.exp(-m));
        g += q - yv[k]!;
        h += q * (1 - q);
      }
    } else if (pass > 0) {
      const db = owedShift;
      for (let k = 0; k < n; k++) {
        const m = (margin[k] = margin[k]! - db);
        const q = 1 / (1 + Math.exp(-m));
        g += q - yv[k]!;
        h += q * (1 - q);
      }
    } else {
      for (let k = 0; k < n; k++) {
        const q = sigmoid(margin[k]!);
        g += q - yv[k]!;
        h += q * (1 - q);
      }
    }
    const db = h > 0 ? Math.max(-2, Math.min(2, g / h)) : 0;
    bias -= db;
    owedShift = db;
    owedStep = null;
    owedCodes = null;
    for (let j = 0; j < features.length; j++) {
      const codes = fit.codes[features[j]!]!;
      const w = weights[j]!;
      const L = w.length;
      grad.fill(0, 0, L);
      hess.fill(0, 0, L);
      if (owedStep) {
        const step = owedStep;
        const prev = owedCodes!;
        for (let k = 0; k < n; k++) {
          const m = (margin[k] = margin[k]! - step[prev[k]!]!);
          const q = 1 / (1 + Math.exp(-m));
          const c = codes[k]!;
          grad[c] = grad[c]! + (q - yv[k]!);
          hess[c] = hess[c]! + q * (1 - q);
        }
      } else {
        const shift = owedShift;
        for (let k = 0; k < n; k++) {
          const m = (margin[k] = margin[k]! - shift);
          const q = 1 / (1 + Math.exp(-m));
          const c = codes[k]!;
          grad[c] = grad[c]! + (q - yv[k]!);
          hess[c] = hess[c]! + q * (1 - q);
        }
      }
      const step = steps[j]!;
      for (let c = 0; c < L; c++) {
        step[c] = Math.max(-2, Math.min(2, (grad[c]! + p.l2 * w[c]!) / (hess[c]! + p.l2)));
        w[c] = w[c]! - step[c]!;
      }
      owedStep = step;
      owedCodes = codes;
    }
  }
  return { bias, weights };
}

function scoreGathered(
  held: Gathered,
  model: { bias: number; weights: Float64Array[] },
  features: readonly number[],
): Float64Array {
  const out = new Float64Array(held.n);
  for (let k = 0; k < held.n; k++) {
    let m = model.bias;
    for (let j = 0; j < features.length; j++) m += model.weights[j]![held.codes[features[j]!]![k]!]!;
    out[k] = sigmoid(m);
  }
  return out;
}

/**
 * A binned additive logistic model (one weight per bin of each feature, ridge penalty), fitted by
 * block Newton steps: a feature's bins are disjoint, so its Hessian is diagonal and every bin
 * moves at once. Flexible enough to single customers out by an attribute's bins (which is what the
 * identity step must detect), fast enough for hundreds of fits in plain TypeScript.
 * Returns the scores of `scoreRows`.
 */
export function fitAdditiveLogit(
  x: Binned,
  features: readonly number[],
  y: Int8Array,
  fitRows: Uint32Array,
  scoreRows: Uint32Array,
  p: Pick<IdentityParams, 'l2' | 'passes'>,
): Float64Array {
  const model = fitGathered(gather(x, y, fitRows), x.levels, features, p);
  return scoreGathered(gather(x, y, scoreRows), model, features);
}

/** Per-fold PR-AUC and log loss of a feature subset; NaN for a fold without positives. */
interface FoldScores {
  readonly prAuc: Float64Array;
  readonly logLoss: Float64Array;
}

/** The fit and held-out rows of every repeat × fold, gathered once for all the subsets a search tries. */
interface CvRows {
  readonly x: Binned;
  readonly k: number;
  readonly cells: readonly { readonly fit: Gathered; readonly held: Gathered }[];
}

function cvRows(x: Binned, y: Int8Array, folds: readonly Int32Array[], k: number): CvRows {
  const cells: { fit: Gathered; held: Gathered }[] = [];
  for (const fold of folds) {
    for (let f = 0; f < k; f++) {
      const fit: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < fold.length; i++) (fold[i] === f ? held : fit).push(i);
      cells.push({ fit: gather(x, y, Uint32Array.from(fit)), held: gather(x, y, Uint32Array.from(held)) });
    }
  }
  return { x, k, cells };
}

function groupedCv(cv: CvRows, features: readonly number[], p: IdentityParams): FoldScores {
  const prAuc = new Float64Array(cv.cells.length);
  const ll = new Float64Array(cv.cells.length);
  cv.cells.forEach(({ fit, held }, c) => {
    const scores = scoreGathered(held, fitGathered(fit, cv.x.levels, features, p), features);
    prAuc[c] = averagePrecision(held.y, scores);
    ll[c] = logLoss(held.y, scores);
  });
  return { prAuc, logLoss: ll };
}

/** Mean over folds where both are defined of a[k] − b[k], their standard deviation, and how many folds b won. */
function paired(a: Float64Array, b: Float64Array): { mean: number; sd: number; bWins: number; folds: number } {
  const d: number[] = [];
  let bWins = 0;
  for (let k = 0; k < a.length; k++) {
    if (!Number.isFinite(a[k]!) || !Number.isFinite(b[k]!)) continue;
    d.push(a[k]! - b[k]!);
    if (b[k]! > a[k]!) bWins++;
  }
  if (d.length === 0) return { mean: NaN, sd: NaN, bWins: 0, folds: 0 };
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const sd = d.length > 1 ? Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1)) : 0;
  return { mean, sd, bWins, folds: d.length };
}

function mean(a: Float64Array): number {
  let s = 0;
  let n = 0;
  for (const v of a) {
    if (!Number.isFinite(v)) continue;
    s += v;
    n++;
  }
  return n ? s / n : NaN;
}

/**
 * Identity proxies, measured: among `features` (already through the other selection filters),
 * the customer attributes (customer share ≥ `min_customer_share`) are tested by grouped-CV
 * drop-column importance on whole train customers (seeded order, at most `max_rows` rows), with
 * the binned additive logistic model. Backward elimination: each round removes the candidate whose
 * removal costs the least fold-mean PR-AUC relative to the bar (`min_gain` plus `min_gain_z`
 * standard errors of its per-fold deltas), while that cost is within the bar; the rest are kept
 * with the deltas of the last round. A customer attribute thus stays only when it measurably
 * helps on customers the model has not seen. Pure and seeded.
 */
export function measureIdentityProxies(
  frame: Frame,
  y: Int8Array,
  rows: ArrayLike<number>,
  features: readonly string[],
  p: IdentityParams,
): IdentityReport {
  // Whole customers in a seeded order until the row budget is reached.
  const keyAt = cellReader(column(frame, 'customer_key'));
  const byCustomer = new Map<string, number[]>();
  for (let k = 0; k < rows.length; k++) {
    const key = String(keyAt(rows[k]!));
    const list = byCustomer.get(key);
    if (list) list.push(rows[k]!);
    else byCustomer.set(key, [rows[k]!]);
  }
  const rand = seededRandom(p.seed);
  const order = [...byCustomer.keys()].sort().map((key) => ({ key, r: rand() }));
  order.sort((a, b) => a.r - b.r);
  const chosen: string[] = [];
  let taken = 0;
  for (const { key } of order) {
    if (taken >= p.max_rows) break;
    chosen.push(key);
    taken += byCustomer.get(key)!.length;
  }
  const sample = new Uint32Array(taken);
  const customerOf = new Int32Array(taken);
  {
    const pairs: [number, number][] = [];
    chosen.forEach((key, c) => byCustomer.get(key)!.forEach((i) => pairs.push([i, c])));
    pairs.sort((a, b) => a[0] - b[0]);
    pairs.forEach(([i, c], k) => {
      sample[k] = i;
      customerOf[k] = c;
    });
  }
  const ys = Int8Array.from(sample, (i) => (y[i] === 1 ? 1 : 0));
  const stats = chosen.map((key) => ({ key, rows: 0, pos: 0 }));
  for (let k = 0; k < taken; k++) {
    stats[customerOf[k]!]!.rows++;
    stats[customerOf[k]!]!.pos += ys[k]!;
  }
  const positives = stats.reduce((s, c) => s + c.pos, 0);
  const positiveCustomers = stats.filter((c) => c.pos > 0).length;

  const shares = features.map((name) => ({ name, ...customerShare(frame, name, customerOf, sample) }));
  const testable = shares.filter((s) => s.share >= p.min_customer_share).map((s) => s.name);
  const base = {
    model: `binned additive logistic regression (${p.bins} equal-frequency bins a number, ridge ${p.l2}, ${p.passes} block-Newton passes)`,
    metric: 'pr_auc' as const,
    params: p,
    rows: taken,
    customers: chosen.length,
    positives,
    positive_customers: positiveCustomers,
  };
  const untested = (skipped: string | null): IdentityReport => ({
    ...base,
    skipped,
    rounds: [],
    candidates: shares.map((s) => ({
      feature: s.name,
      measure: s.measure,
      customer_share: s.share,
      tested: false,
      action: null,
      delta_pr_auc: null,
      delta_sd: null,
      delta_log_loss: null,
      folds_better_without: null,
      folds: null,
      round: null,
    })),
    dropped: [],
  });
  if (testable.length === 0) return untested(null);
  if (chosen.length < p.folds || positiveCustomers < 2) {
    return untested(
      `too few customers to measure (${chosen.length} customers, ${positiveCustomers} with positives; need ≥ ${p.folds} and ≥ 2): candidates kept`,
    );
  }

  const x = binFeatures(frame, features, sample, p.bins);
  const folds = Array.from({ length: p.repeats }, (_, r) => {
    const assigned = assignGroups(stats, new Array(p.folds).fill(1), p.seed + 1 + r);
    return Int32Array.from(customerOf, (c) => assigned.get(chosen[c]!)!);
  });
  const index = new Map(features.map((f, j) => [f, j]));
  let current = features.map((_, j) => j);
  const cv = cvRows(x, ys, folds, p.folds);
  let scores = groupedCv(cv, current, p);
  const decided = new Map<string, Omit<IdentityCandidate, 'feature' | 'measure' | 'customer_share' | 'tested'>>();
  const rounds: IdentityRound[] = [];
  let remaining = [...testable];
  for (let round = 1; remaining.length > 0; round++) {
    const trials = remaining.map((name) => {
      const without = current.filter((j) => j !== index.get(name));
      const s = groupedCv(cv, without, p);
      const d = paired(scores.prAuc, s.prAuc);
      return { name, without, s, d, ll: paired(s.logLoss, scores.logLoss) };
    });
    // Margin of each removal: its cost minus the bar (min_gain + z standard errors of the fold deltas).
    const margin = (t: (typeof trials)[number]) =>
      Number.isFinite(t.d.mean) ? t.d.mean - p.min_gain - p.min_gain_z * (t.d.sd / Math.sqrt(t.d.folds)) : Infinity;
    trials.sort((a, b) => margin(a) - margin(b) || (a.name < b.name ? -1 : 1));
    const best = trials[0]!;
    const drop = margin(best) <= 0;
    rounds.push({
      round,
      features: current.length,
      pr_auc: mean(scores.prAuc),
      log_loss: mean(scores.logLoss),
      deltas: Object.fromEntries(trials.map((t) => [t.name, t.d.mean])),
      dropped: drop ? best.name : null,
    });
    const record = (t: (typeof trials)[number], action: 'keep' | 'drop') =>
      decided.set(t.name, {
        action,
        delta_pr_auc: Number.isFinite(t.d.mean) ? t.d.mean : null,
        delta_sd: Number.isFinite(t.d.sd) ? t.d.sd : null,
        delta_log_loss: Number.isFinite(t.ll.mean) ? t.ll.mean : null,
        folds_better_without: t.d.bWins,
        folds: t.d.folds,
        round,
      });
    if (!drop) {
      for (const t of trials) record(t, 'keep');
      break;
    }
    record(best, 'drop');
    current = best.without;
    scores = best.s;
    remaining = remaining.filter((n) => n !== best.name);
  }
  return {
    ...base,
    skipped: null,
    rounds,
    candidates: shares.map((s) => {
      const d = decided.get(s.name);
      return {
        feature: s.name,
        measure: s.measure,
        customer_share: s.share,
        tested: testable.includes(s.name),
        action: d?.action ?? null,
        delta_pr_auc: d?.delta_pr_auc ?? null,
        delta_sd: d?.delta_sd ?? null,
        delta_log_loss: d?.delta_log_loss ?? null,
        folds_better_without: d?.folds_better_without ?? null,
        folds: d?.folds ?? null,
        round: d?.round ?? null,
      };
    }),
    dropped: rounds.filter((r) => r.dropped).map((r) => r.dropped!),
  };
}
