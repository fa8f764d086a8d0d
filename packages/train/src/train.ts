import { averagePrecision, brierScore, expectedCalibrationError, logLoss, rocAuc, seededRandom } from '@bolsillo/core';
import {
  baselineArtifacts,
  calibrate,
  createEncoder,
  featureScore,
  type BaselineModelJson,
  type ModelArtifacts,
  type Tf,
} from '@bolsillo/model';
import type { BaselineKind, Calibration, ModelFamily, Preprocessing } from '@bolsillo/schema';
import { fitFeatureScorer, isNumericFeature, type FeatureScorerSpec } from './baselines';
import { bestF1Threshold, chooseCalibration, type CalibrationScore } from './calibration-fit';
import { foldsOf, planCv, type CvPlan } from './cv';
import { predictGbdt, resolveGbdtParams, trainGbdt } from './gbdt';
import { networkArtifacts, predictNetwork, resolveParams, trainNetwork } from './models';
import type { SelectionMetric, TrainParams } from './params';
import { fitPreprocessing } from './preprocess-fit';
import { familyCandidates, type Candidate } from './search';

type Row = Readonly<Record<string, unknown>>;

/** Metrics computed on every validation fold. */
export interface FoldMetrics {
  readonly pr_auc: number;
  readonly roc_auc: number;
  readonly log_loss: number;
  readonly brier: number;
}

/** One row of the results table: a configuration's grouped-CV result in one round (`feature`: a single-feature scorer tried for best_feature). */
export interface Trial {
  readonly round: 'sample' | 'full' | 'baseline' | 'feature';
  readonly candidate: string;
  readonly family: ModelFamily;
  readonly search: 'grid' | 'random' | 'fixed';
  readonly params: Record<string, unknown>;
  readonly rows: number;
  readonly fold_metrics: FoldMetrics[];
  readonly mean: FoldMetrics;
  readonly std: FoldMetrics;
  /** Selection metric, mean and std over folds (higher is better). */
  readonly score_mean: number;
  readonly score_std: number;
  /** Metrics of the pooled out-of-fold predictions (steadier than the fold mean when folds are few or lopsided), averaged over repeats. */
  readonly oof: FoldMetrics;
  /** Selection metric of each repeat's pooled out-of-fold predictions. */
  readonly repeat_scores: number[];
  /** Customers (and customers with a positive row) the trial's rows come from. */
  readonly customers: number;
  readonly positive_customers: number;
  readonly positives: number;
  readonly seconds: number;
}

/** Training data: rows of the master table with labels, groups (customers) and the build's folds; `cv` is the CV plan's fold per row for each repeat (planned from params when absent). */
export interface TrainData {
  readonly rows: readonly Row[];
  readonly y: Float32Array;
  readonly folds: Int32Array;
  readonly groups: readonly string[];
  readonly cv?: readonly Int32Array[];
}

/** A fitted model ready to register. */
export interface FittedModel {
  readonly family: ModelFamily;
  /** Which baseline (baselines only). */
  readonly baseline_kind?: BaselineKind;
  readonly features: readonly string[];
  readonly params: Record<string, unknown>;
  readonly preprocessing: Preprocessing | { none: true };
  readonly artifacts: ModelArtifacts;
  readonly calibration: Calibration;
  readonly calibration_scores: CalibrationScore[];
  readonly threshold: number;
  /** Metrics on the calibration slice (calibrated probabilities). */
  readonly calibration_metrics: Record<string, number>;
  /** The CV trial that chose it. */
  readonly trial: Trial;
}

/** What {@link trainAndSelect} returns: both search rounds, the baselines and the chosen model. */
export interface TrainResult {
  readonly sample_trials: Trial[];
  readonly full_trials: Trial[];
  readonly baseline_trials: Trial[];
  /** Every single-feature scorer tried for best_feature. */
  readonly feature_trials: Trial[];
  readonly best: FittedModel;
  /** The baselines fitted, in {@link BaselineKind} order. */
  readonly baselines: Partial<Record<BaselineKind, FittedModel>>;
  /** Baselines that could not be fitted (their feature is not in the master table), with why. */
  readonly skipped_baselines: { readonly kind: BaselineKind; readonly reason: string }[];
  readonly sample_rows: number;
  readonly train_rows: number;
  readonly calibration_rows: number;
  /** Folds per repeat (the first repeat's) and the plan of the full round. */
  readonly folds: number;
  readonly cv_plan: {
    readonly scheme: CvPlan['scheme'];
    readonly repeats: number;
    readonly customers: number;
    readonly positive_customers: number;
    readonly description: string;
  };
}

/** Dependencies that are not data: tfjs and a clock for trial seconds (both injected; the logic stays testable). */
export interface TrainDeps {
  readonly tf: Tf;
  readonly now: () => number;
  readonly log?: (message: string) => void;
}

function foldMetrics(y: ArrayLike<number>, p: ArrayLike<number>): FoldMetrics {
  return { pr_auc: averagePrecision(y, p), roc_auc: rocAuc(y, p), log_loss: logLoss(y, p), brier: brierScore(y, p) };
}

function summarise(folds: FoldMetrics[]): { mean: FoldMetrics; std: FoldMetrics } {
  const keys = ['pr_auc', 'roc_auc', 'log_loss', 'brier'] as const;
  const mean = {} as Record<(typeof keys)[number], number>;
  const std = {} as Record<(typeof keys)[number], number>;
  for (const k of keys) {
    const v = folds.map((f) => f[k]).filter((x) => Number.isFinite(x));
    const m = v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1);
    mean[k] = v.length ? m : NaN;
    std[k] = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  }
  return { mean, std };
}

/** Selection score (higher is better) from fold metrics. */
export function selectionScore(m: FoldMetrics, metric: SelectionMetric): number {
  return metric === 'pr_auc'
    ? m.pr_auc
    : metric === 'roc_auc'
      ? m.roc_auc
      : metric === 'neg_log_loss'
        ? -m.log_loss
        : -m.brier;
}

/** The values of `a` at `idx`, in a new array of the same kind. */
function pick<A extends Float32Array | Int32Array>(a: A, idx: readonly number[]): A {
  const out = new (a.constructor as new (n: number) => A)(idx.length);
  for (let j = 0; j < idx.length; j++) out[j] = a[idx[j]!]!;
  return out;
}

function subset(data: TrainData, idx: readonly number[]): TrainData {
  const rows = new Array<Row>(idx.length);
  const groups = new Array<string>(idx.length);
  for (let j = 0; j < idx.length; j++) {
    rows[j] = data.rows[idx[j]!]!;
    groups[j] = data.groups[idx[j]!]!;
  }
  return {
    rows,
    y: pick(data.y, idx),
    folds: pick(data.folds, idx),
    groups,
    ...(data.cv ? { cv: data.cv.map((a) => pick(a, idx)) } : {}),
  };
}

/** The CV repeats of a training set: its plan, or the build's folds as one repeat. */
function repeatsOf(data: TrainData): readonly Int32Array[] {
  return data.cv ?? [data.folds];
}

/**
 * A seeded sample of whole groups (customers) holding about `fraction` of the rows and at most
 * `maxRows`: a customer's rows stay together, so the sample keeps CV group-aware.
 */
export function sampleGroups(groups: readonly string[], fraction: number, maxRows: number, seed: number): number[] {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  const names = [...byGroup.keys()].sort();
  const rand = seededRandom(seed);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const target = Math.min(Math.ceil(groups.length * fraction), maxRows);
  const out: number[] = [];
  for (const g of names) {
    if (out.length >= target) break;
    const rows = byGroup.get(g)!;
    if (out.length > 0 && out.length + rows.length > maxRows) continue;
    out.push(...rows);
  }
  return out.sort((a, b) => a - b);
}

function splitFold(assignment: Int32Array, k: number): { train: number[]; val: number[] } {
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < assignment.length; i++) (assignment[i] === k ? val : train).push(i);
  return { train, val };
}

/**
 * Run a grouped CV: for every repeat and fold, `fitScore` fits on the other folds and scores the
 * held-out rows. Returns the fold metrics of all repeats and each repeat's out-of-fold scores.
 */
function crossValidate(
  data: TrainData,
  fitScore: (train: TrainData, val: TrainData) => ArrayLike<number>,
): { folds: FoldMetrics[]; oof: Float64Array[] } {
  const folds: FoldMetrics[] = [];
  const oof: Float64Array[] = [];
  for (const assignment of repeatsOf(data)) {
    const o = new Float64Array(data.y.length).fill(NaN);
    for (const k of foldsOf(assignment)) {
      const { train, val } = splitFold(assignment, k);
      const va = subset(data, val);
      const p = fitScore(subset(data, train), va);
      folds.push(foldMetrics(va.y, p));
      val.forEach((i, j) => (o[i] = p[j]!));
    }
    oof.push(o);
  }
  return { folds, oof };
}

/** Per-row weights giving every group (customer) the same total weight (mean 1). */
export function groupBalancedWeights(groups: readonly string[]): Float32Array {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g, (counts.get(g) ?? 0) + 1);
  return Float32Array.from(groups, (g) => groups.length / (counts.size * counts.get(g)!));
}

/**
 * A seeded share of whole groups (customers) as a validation fold: the rows of about `fraction` of
 * the groups, never splitting one. Returns a 0/1 mask (1 = validation).
 */
export function groupValidationMask(groups: readonly string[], fraction: number, seed: number): Uint8Array {
  const names = [...new Set(groups)].sort();
  const rand = seededRandom(seed);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const held = new Set(names.slice(0, Math.max(1, Math.round(names.length * fraction))));
  return Uint8Array.from(groups, (g) => (held.has(g) ? 1 : 0));
}

/** Encoded rows (and labels, and optional row weights) split by a validation mask (1 = validation). */
function splitByMask(x: Float32Array, width: number, y: Float32Array, mask: Uint8Array, weights?: Float32Array) {
  const nv = mask.reduce((a, b) => a + b, 0);
  const nt = mask.length - nv;
  const out = {
    xt: new Float32Array(nt * width),
    yt: new Float32Array(nt),
    wt: weights ? new Float32Array(nt) : undefined,
    xv: new Float32Array(nv * width),
    yv: new Float32Array(nv),
  };
  for (let i = 0, a = 0, b = 0; i < mask.length; i++) {
    if (mask[i]) {
      out.xv.set(x.subarray(i * width, (i + 1) * width), b * width);
      out.yv[b++] = y[i]!;
    } else {
      out.xt.set(x.subarray(i * width, (i + 1) * width), a * width);
      if (out.wt) out.wt[a] = weights![i]!;
      out.yt[a++] = y[i]!;
    }
  }
  return out;
}

/**
 * Fit one logistic or MLP candidate: network preprocessing, then Adam. Without `steps`, early
 * stopping (when the params ask for it) watches a grouped validation fold (whole customers, seeded)
 * cut from `data`, if that fold holds enough customers with a positive to rank by (else, as with
 * `steps` in a refit, every row trains the budget). `stopped` says whether it did.
 */
function fitNetworkModel(
  deps: TrainDeps,
  c: Candidate,
  features: readonly string[],
  data: TrainData,
  params: TrainParams,
  steps?: number,
) {
  if (c.family === 'gbdt') throw new Error('fitNetworkModel: gbdt is not a network family');
  const prep = fitPreprocessing(data.rows, features, params.preprocessing);
  const encoder = createEncoder(prep);
  const weights = c.params.group_weight === 'balanced' ? groupBalancedWeights(data.groups) : undefined;
  const p = resolveParams(c.family, c.params);
  const x = encoder.encode(data.rows);
  const w = encoder.width;
  if (steps !== undefined || p.early_stopping_steps === 0) {
    const net = trainNetwork(deps.tf, c.family, p, x, data.y, w, params.seed, weights, { steps });
    return { prep, encoder, net, stopped: false };
  }
  const mask = groupValidationMask(data.groups, p.validation_fraction, params.seed + 3);
  const positive = new Set<string>();
  for (let i = 0; i < mask.length; i++) if (mask[i] && data.y[i]) positive.add(data.groups[i]!);
  if (positive.size < p.early_stopping_min_positive_customers) {
    const net = trainNetwork(deps.tf, c.family, { ...p, early_stopping_steps: 0 }, x, data.y, w, params.seed, weights);
    return { prep, encoder, net, stopped: false };
  }
  const s = splitByMask(x, w, data.y, mask, weights);
  const net = trainNetwork(deps.tf, c.family, p, s.xt, s.yt, w, params.seed, s.wt, { valid: { x: s.xv, y: s.yv } });
  return { prep, encoder, net, stopped: true };
}

/**
 * Fit one gbdt candidate: tree preprocessing (standardised numbers with missing indicators, booleans,
 * one-hot categories; no bins, the trees bin their inputs themselves), then boosting. Without
 * `rounds`, early stopping watches a grouped validation fold (whole customers, seeded) cut from
 * `data`; with `rounds` (a refit), every row trains that many rounds.
 */
function fitGbdtModel(
  c: Candidate,
  features: readonly string[],
  data: TrainData,
  params: TrainParams,
  rounds?: number,
) {
  const prep = fitPreprocessing(data.rows, features, {
    min_category_count: params.preprocessing.min_category_count,
    max_categories: params.preprocessing.max_categories,
  });
  const encoder = createEncoder(prep);
  const p = resolveGbdtParams(c.params);
  const x = encoder.encode(data.rows);
  if (rounds !== undefined || p.early_stopping_rounds === 0) {
    return {
      prep,
      encoder,
      fit: trainGbdt(x, data.y, encoder.width, p, params.seed, { rounds: rounds ?? p.n_estimators }),
    };
  }
  const mask = groupValidationMask(data.groups, p.validation_fraction, params.seed + 3);
  const s = splitByMask(x, encoder.width, data.y, mask);
  return {
    prep,
    encoder,
    fit: trainGbdt(s.xt, s.yt, encoder.width, p, params.seed, { valid: { x: s.xv, y: s.yv } }),
  };
}

/** The mean of a trial's per-fold early-stopped budget (`cv_rounds` of gbdt, `cv_steps` of a network), for the refit on all rows. */
function refitBudget(t: Trial, key: 'cv_rounds' | 'cv_steps'): number | undefined {
  const r = t.params[key];
  return Array.isArray(r) && r.length
    ? Math.max(1, Math.round(r.reduce((a: number, b: number) => a + b, 0) / r.length))
    : undefined;
}

/** Grouped CV of one candidate over the data's CV plan (every repeat, every fold). */
export function cvCandidate(
  deps: TrainDeps,
  data: TrainData,
  features: readonly string[],
  c: Candidate,
  params: TrainParams,
  round: Trial['round'],
): Trial {
  const t0 = deps.now();
  // Each fold's early-stopped budget: gbdt rounds, network steps (the refit trains their mean).
  const budgets: number[] = [];
  let earlyStopped = 0;
  const { folds, oof } = crossValidate(data, (tr, va) => {
    if (c.family === 'gbdt') {
      const { encoder, fit } = fitGbdtModel(c, features, tr, params);
      budgets.push(fit.rounds);
      return predictGbdt(fit.model, encoder.encode(va.rows), va.rows.length);
    }
    const { encoder, net, stopped } = fitNetworkModel(deps, c, features, tr, params);
    budgets.push(net.steps);
    if (stopped) earlyStopped++;
    const p = predictNetwork(deps.tf, net, encoder.encode(va.rows), va.rows.length);
    net.model.dispose();
    return p;
  });
  let params_: Record<string, unknown>;
  if (c.family === 'gbdt') params_ = { ...resolveGbdtParams(c.params), cv_rounds: budgets };
  else {
    const p = resolveParams(c.family, c.params);
    // Steps for the refit only when some fold stopped early; otherwise the refit trains the budget.
    params_ = { ...p, ...(earlyStopped > 0 ? { cv_steps: budgets } : {}) };
  }
  return trial(round, c.id, c.family, c.search, params_, data, oof, folds, params, (deps.now() - t0) / 1000);
}

function trial(
  round: Trial['round'],
  candidate: string,
  family: Trial['family'],
  search: Trial['search'],
  hyper: Record<string, unknown>,
  data: TrainData,
  oof: readonly Float64Array[],
  folds: FoldMetrics[],
  params: TrainParams,
  seconds: number,
): Trial {
  const metric = params.selection_metric;
  const { mean, std } = summarise(folds);
  const scores = folds.map((f) => selectionScore(f, metric));
  const sm = summarise(scores.map((s) => ({ pr_auc: s, roc_auc: s, log_loss: s, brier: s })));
  // Each repeat's pooled out-of-fold metrics (rows never held out have no prediction), then their mean.
  const pooledByRepeat = oof.map((o) => {
    const inFold = Array.from(o, (v, i) => (Number.isNaN(v) ? -1 : i)).filter((i) => i >= 0);
    return foldMetrics(
      inFold.map((i) => data.y[i]!),
      inFold.map((i) => o[i]!),
    );
  });
  const pooled = summarise(pooledByRepeat).mean;
  const repeat_scores = pooledByRepeat.map((m) => selectionScore(m, metric));
  // score_mean is what selection ranks by: the fold mean, or (selection_aggregate 'pooled') the pooled out-of-fold score.
  const score = params.selection_aggregate === 'pooled' ? selectionScore(pooled, metric) : sm.mean.pr_auc;
  const c = customerCounts(data.groups, data.y);
  return {
    round,
    candidate,
    family,
    search,
    params: hyper,
    rows: data.y.length,
    fold_metrics: folds,
    mean,
    std,
    score_mean: score,
    score_std: sm.std.pr_auc,
    oof: pooled,
    repeat_scores,
    ...c,
    seconds,
  };
}

/** Customers, customers with a positive row, and positive rows. */
export function customerCounts(
  groups: readonly string[],
  y: ArrayLike<number>,
): { customers: number; positive_customers: number; positives: number } {
  const pos = new Set<string>();
  const all = new Set<string>();
  let positives = 0;
  groups.forEach((g, i) => {
    all.add(g);
    if (y[i]) {
      pos.add(g);
      positives++;
    }
  });
  return { customers: all.size, positive_customers: pos.size, positives };
}

/** How one baseline is fitted: a spec (prior, or a single-feature scorer) turned into model.json by fitting rows. */
type BaselineSpec = { readonly kind: 'prior' } | { readonly kind: 'feature'; readonly spec: FeatureScorerSpec };

function prevalenceOf(y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] ? 1 : 0;
  return y.length ? s / y.length : 0;
}

/** Fit a baseline on rows (the prior is the rows' prevalence; a scorer its logistic map). */
function fitBaseline(b: BaselineSpec, rows: readonly Row[], y: ArrayLike<number>): BaselineModelJson {
  if (b.kind === 'prior') return { format: 'bolsillo-baseline', family: 'prior', probability: prevalenceOf(y) };
  return fitFeatureScorer(rows, y, b.spec);
}

function scoreBaseline(m: BaselineModelJson, rows: readonly Row[]): Float64Array {
  if (m.family === 'prior') return new Float64Array(rows.length).fill(m.probability);
  if (m.family === 'feature') {
    const out = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = featureScore(m, rows[i]!);
    return out;
  }
  throw new Error(`train: no scorer for baseline family ${m.family}`);
}

/** A baseline's fitted parameters for the card (model.json without its format tags). */
function baselineParams(m: BaselineModelJson): Record<string, unknown> {
  if (m.family === 'prior') return { probability: m.probability };
  if (m.family === 'feature')
    return {
      feature: m.feature,
      direction: m.direction,
      threshold: m.threshold,
      center: m.center,
      scale: m.scale,
      a: m.a,
      b: m.b,
      missing_probability: m.missing_probability,
    };
  return { all: m.all };
}

function cvBaseline(
  deps: TrainDeps,
  data: TrainData,
  id: string,
  b: BaselineSpec,
  params: TrainParams,
  round: 'baseline' | 'feature',
): Trial {
  const t0 = deps.now();
  // A scorer reads one feature: folds of one-value rows are cheaper to cut and to read.
  const rows = b.kind === 'feature' ? data.rows.map((r) => ({ [b.spec.feature]: r[b.spec.feature] })) : data.rows;
  const { folds, oof } = crossValidate({ ...data, rows }, (tr, va) =>
    scoreBaseline(fitBaseline(b, tr.rows, tr.y), va.rows),
  );
  const hyper = b.kind === 'prior' ? {} : { ...b.spec };
  return trial(
    round,
    id,
    b.kind === 'prior' ? 'prior' : 'feature',
    'fixed',
    hyper,
    data,
    oof,
    folds,
    params,
    (deps.now() - t0) / 1000,
  );
}

/** The baselines of the params whose features the data has, in {@link BaselineKind} order; best_feature is chosen separately. */
function configuredBaselines(
  params: TrainParams,
  available: (feature: string) => boolean,
): { specs: { kind: BaselineKind; b: BaselineSpec }[]; skipped: { kind: BaselineKind; reason: string }[] } {
  const cfg = params.baselines;
  const specs: { kind: BaselineKind; b: BaselineSpec }[] = [{ kind: 'prior', b: { kind: 'prior' } }];
  const skipped: { kind: BaselineKind; reason: string }[] = [];
  for (const kind of ['ratio_rule', 'ratio_graded', 'persistence'] as const) {
    const s = cfg[kind];
    if (!s) continue;
    if (!available(s.feature)) {
      skipped.push({ kind, reason: `feature ${s.feature} is not in the master table` });
      continue;
    }
    specs.push({
      kind,
      b: { kind: 'feature', spec: { feature: s.feature, direction: s.direction, threshold: s.threshold ?? null } },
    });
  }
  return { specs, skipped };
}

function calibrated(
  y: Float32Array,
  raw: Float64Array,
  params: TrainParams,
  allowCalibration: boolean,
): { calibration: Calibration; scores: CalibrationScore[]; threshold: number; metrics: Record<string, number> } {
  const { chosen, scores } = allowCalibration
    ? chooseCalibration(y, raw, params.calibration.methods, params.calibration.select_by)
    : { chosen: { method: 'none' } as Calibration, scores: [] as CalibrationScore[] };
  const q = Float64Array.from(raw, (v) => calibrate(chosen, v));
  const { threshold, f1 } = bestF1Threshold(y, q);
  return {
    calibration: chosen,
    scores,
    threshold,
    metrics: {
      calibration_pr_auc: averagePrecision(y, q),
      calibration_roc_auc: rocAuc(y, q),
      calibration_brier: brierScore(y, q),
      calibration_ece: expectedCalibrationError(y, q),
      calibration_log_loss: logLoss(y, q),
      calibration_f1_at_threshold: f1,
      calibration_brier_raw: brierScore(y, raw),
    },
  };
}

const rank = (a: Trial, b: Trial) => b.score_mean - a.score_mean || a.candidate.localeCompare(b.candidate);

/**
 * The train node: algorithm selection on a group sample, then the finalists on all training rows
 * (grouped CV: leave-one-customer-out or repeated grouped k-fold, see {@link planCv}), the winner
 * refitted on all training rows and calibrated on the calibration slice. The baselines (prior,
 * ratio rule, graded ratio, persistence, best single feature) are cross-validated on the same plan
 * and fitted on all training rows.
 */
export async function trainAndSelect(
  deps: TrainDeps,
  train: TrainData,
  calibration: { rows: readonly Row[]; y: Float32Array },
  features: readonly string[],
  params: TrainParams,
): Promise<TrainResult> {
  const log = deps.log ?? (() => undefined);
  if (calibration.rows.length === 0) throw new Error('train: the calibration split is empty');
  const plan = train.cv ? null : planCv(train.groups, train.y, train.folds, params.cv, params.seed);
  if (plan) train = { ...train, cv: plan.repeats };
  if (foldsOf(repeatsOf(train)[0]!).length < 2)
    throw new Error('train: the CV needs at least two folds (two customers, or the build fold column)');
  if (plan) log(`cv: ${plan.description} over ${plan.customers} customers (${plan.positive_customers} with positives)`);
  const candidates: Candidate[] = [];
  const fam = params.families;
  if (fam.logistic) candidates.push(...familyCandidates('logistic', fam.logistic, params.seed));
  if (fam.mlp) candidates.push(...familyCandidates('mlp', fam.mlp, params.seed + 1));
  if (fam.gbdt) candidates.push(...familyCandidates('gbdt', fam.gbdt, params.seed + 2));
  if (candidates.length === 0) throw new Error('train: params.families declares no candidates');

  const sampleIdx = sampleGroups(train.groups, params.sample_round.fraction, params.sample_round.max_rows, params.seed);
  const sampled = subset(train, sampleIdx);
  // Round 1 ranks families on a sample: the first `repeats` of the CV plan are enough for that.
  const sampleRepeats = params.sample_round.repeats;
  const sample =
    sampleRepeats && sampled.cv && sampled.cv.length > sampleRepeats
      ? { ...sampled, cv: sampled.cv.slice(0, sampleRepeats) }
      : sampled;
  log(`round 1 (algorithm selection): ${candidates.length} candidates on a sample of ${sample.y.length} rows`);
  const sampleTrials = candidates.map((c) => {
    const t = cvCandidate(deps, sample, features, c, params, 'sample');
    log(
      `  ${c.id} ${JSON.stringify(c.params)} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)} (${t.seconds.toFixed(1)}s)`,
    );
    return t;
  });

  const ranked = [...sampleTrials].sort(rank);
  const finalistIds = new Set<string>();
  if (params.sample_round.every_family !== false) {
    for (const f of ['logistic', 'mlp', 'gbdt']) {
      const best = ranked.find((t) => t.family === f);
      if (best) finalistIds.add(best.candidate);
    }
  }
  for (const t of ranked)
    if (finalistIds.size < Math.max(params.sample_round.finalists, finalistIds.size)) finalistIds.add(t.candidate);

  const fullIdx =
    train.y.length > params.full_round.max_rows
      ? sampleGroups(train.groups, 1, params.full_round.max_rows, params.seed + 1)
      : null;
  const full = fullIdx ? subset(train, fullIdx) : train;
  log(`round 2 (finalists on all training rows): ${[...finalistIds].join(', ')} on ${full.y.length} rows`);
  // When the round-1 sample already holds every training row (and every repeat of the plan), round 2
  // would repeat the same fits: its trials are round 1's for the finalists (same data, same seed,
  // same result), not refitted.
  const sameRows = sample.y.length === full.y.length && repeatsOf(sample).length === repeatsOf(full).length;
  const fullTrials = candidates
    .filter((c) => finalistIds.has(c.id))
    .map((c) => {
      const reused = sameRows ? sampleTrials.find((t) => t.candidate === c.id) : undefined;
      if (reused) return { ...reused, round: 'full' as const };
      const t = cvCandidate(deps, full, features, c, params, 'full');
      log(
        `  ${c.id} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)} (${t.seconds.toFixed(1)}s)`,
      );
      return t;
    });
  // Baselines: the configured ones, then best_feature = the single model feature with the best grouped-CV score.
  const has = (f: string) => full.rows.some((r) => f in r);
  const { specs, skipped } = configuredBaselines(params, has);
  for (const s of skipped) log(`  baseline ${s.kind} skipped: ${s.reason}`);
  const baselineTrials = specs.map(({ kind, b }) => cvBaseline(deps, full, kind, b, params, 'baseline'));
  const bf = params.baselines.best_feature;
  const exclude = new Set(bf ? (bf.exclude ?? []) : []);
  const featureTrials =
    params.baselines.best_feature === false
      ? []
      : features
          .filter((f) => !exclude.has(f) && isNumericFeature(full.rows, f))
          .map((f) =>
            cvBaseline(
              deps,
              full,
              `best_feature:${f}`,
              { kind: 'feature', spec: { feature: f, direction: 'auto', threshold: null } },
              params,
              'feature',
            ),
          );
  const bestFeature = [...featureTrials].sort(rank)[0];
  if (bestFeature) {
    baselineTrials.push({ ...bestFeature, round: 'baseline', candidate: 'best_feature' });
    specs.push({
      kind: 'best_feature',
      b: { kind: 'feature', spec: { feature: String(bestFeature.params.feature), direction: 'auto', threshold: null } },
    });
  } else if (params.baselines.best_feature !== false)
    skipped.push({ kind: 'best_feature', reason: 'no numeric model feature' });
  for (const t of baselineTrials)
    log(
      `  baseline ${t.candidate} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)}${t.candidate === 'best_feature' ? ` (${String(t.params.feature)})` : ''}`,
    );

  const winner = [...fullTrials].sort(rank)[0]!;
  const candidate = candidates.find((c) => c.id === winner.candidate)!;
  log(
    `chosen: ${candidate.id} (${candidate.family}); refitting on ${full.y.length} rows and calibrating on ${calibration.rows.length}`,
  );
  let prep: Preprocessing;
  let raw: Float64Array;
  let artifacts: ModelArtifacts;
  let hyper = winner.params;
  if (candidate.family === 'gbdt') {
    const fitted = fitGbdtModel(candidate, features, full, params, refitBudget(winner, 'cv_rounds'));
    prep = fitted.prep;
    raw = predictGbdt(fitted.fit.model, fitted.encoder.encode(calibration.rows), calibration.rows.length);
    artifacts = { modelJson: fitted.fit.model, weights: new Uint8Array(0) };
    hyper = { ...hyper, refit_rounds: fitted.fit.rounds };
  } else {
    const steps = refitBudget(winner, 'cv_steps');
    const fitted = fitNetworkModel(deps, candidate, features, full, params, steps);
    prep = fitted.prep;
    raw = predictNetwork(deps.tf, fitted.net, fitted.encoder.encode(calibration.rows), calibration.rows.length);
    artifacts = await networkArtifacts(deps.tf, fitted.net);
    fitted.net.model.dispose();
    if (steps !== undefined) hyper = { ...hyper, refit_steps: fitted.net.steps };
  }
  const cal = calibrated(calibration.y, raw, params, true);

  // A baseline's probability map is fitted on all training rows (it has nothing else to fit, and the
  // calibration slice may hold few customers); its threshold and calibration metrics come from the calibration slice.
  const baselines: Partial<Record<BaselineKind, FittedModel>> = {};
  for (const { kind, b } of specs) {
    const model = fitBaseline(b, full.rows, full.y);
    const c = calibrated(calibration.y, scoreBaseline(model, calibration.rows), params, false);
    baselines[kind] = {
      family: model.family,
      baseline_kind: kind,
      features: model.family === 'feature' ? [model.feature] : [],
      params: baselineParams(model),
      preprocessing: { none: true },
      artifacts: baselineArtifacts(model),
      calibration: { method: 'none' },
      calibration_scores: c.scores,
      threshold: c.threshold,
      calibration_metrics: c.metrics,
      trial: baselineTrials.find((t) => t.candidate === kind)!,
    };
  }

  return {
    sample_trials: sampleTrials,
    full_trials: fullTrials,
    baseline_trials: baselineTrials,
    feature_trials: featureTrials,
    best: {
      family: candidate.family,
      features,
      params: hyper,
      preprocessing: prep,
      artifacts,
      calibration: cal.calibration,
      calibration_scores: cal.scores,
      threshold: cal.threshold,
      calibration_metrics: cal.metrics,
      trial: winner,
    },
    baselines,
    skipped_baselines: skipped,
    sample_rows: sample.y.length,
    train_rows: full.y.length,
    calibration_rows: calibration.rows.length,
    folds: foldsOf(repeatsOf(full)[0]!).length,
    cv_plan: {
      scheme: plan?.scheme ?? 'build',
      repeats: repeatsOf(full).length,
      customers: customerCounts(full.groups, full.y).customers,
      positive_customers: customerCounts(full.groups, full.y).positive_customers,
      description: plan?.description ?? 'given folds',
    },
  };
}
