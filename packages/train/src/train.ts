import {
  averagePrecision,
  baselineArtifacts,
  brierScore,
  calibrate,
  createEncoder,
  expectedCalibrationError,
  logLoss,
  rocAuc,
  ruleScore,
  seededRandom,
  type ModelArtifacts,
  type RuleCondition,
  type Tf,
} from '@bolsillo/core';
import type { Calibration, Preprocessing } from '@bolsillo/schema';
import { bestF1Threshold, chooseCalibration, type CalibrationScore } from './calibration-fit';
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

/** One row of the results table: a configuration's grouped-CV result in one round. */
export interface Trial {
  readonly round: 'sample' | 'full' | 'baseline';
  readonly candidate: string;
  readonly family: 'logistic' | 'mlp' | 'prior' | 'rule';
  readonly search: 'grid' | 'random' | 'fixed';
  readonly params: Record<string, unknown>;
  readonly rows: number;
  readonly fold_metrics: FoldMetrics[];
  readonly mean: FoldMetrics;
  readonly std: FoldMetrics;
  /** Selection metric, mean and std over folds (higher is better). */
  readonly score_mean: number;
  readonly score_std: number;
  /** Metrics of the pooled out-of-fold predictions (steadier than the fold mean when folds are few or lopsided). */
  readonly oof: FoldMetrics;
  readonly seconds: number;
}

/** Training data: rows of the master table with labels, groups and folds. */
export interface TrainData {
  readonly rows: readonly Row[];
  readonly y: Float32Array;
  readonly folds: Int32Array;
  readonly groups: readonly string[];
}

/** A fitted model ready to register. */
export interface FittedModel {
  readonly family: 'logistic' | 'mlp' | 'prior' | 'rule';
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
  readonly best: FittedModel;
  readonly baselines: { readonly prior: FittedModel; readonly rule: FittedModel };
  readonly sample_rows: number;
  readonly train_rows: number;
  readonly calibration_rows: number;
  readonly folds: number;
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
  return metric === 'pr_auc' ? m.pr_auc : metric === 'roc_auc' ? m.roc_auc : metric === 'neg_log_loss' ? -m.log_loss : -m.brier;
}

function subset(data: TrainData, idx: readonly number[]): TrainData {
  return {
    rows: idx.map((i) => data.rows[i]!),
    y: Float32Array.from(idx, (i) => data.y[i]!),
    folds: Int32Array.from(idx, (i) => data.folds[i]!),
    groups: idx.map((i) => data.groups[i]!),
  };
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

function foldIds(data: TrainData): number[] {
  return [...new Set(Array.from(data.folds))].filter((f) => f >= 0).sort((a, b) => a - b);
}

function splitFold(data: TrainData, k: number): { train: number[]; val: number[] } {
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < data.y.length; i++) (data.folds[i] === k ? val : train).push(i);
  return { train, val };
}

/** Per-row weights giving every group (customer) the same total weight (mean 1). */
export function groupBalancedWeights(groups: readonly string[]): Float32Array {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g, (counts.get(g) ?? 0) + 1);
  return Float32Array.from(groups, (g) => groups.length / (counts.size * counts.get(g)!));
}

function fitNetworkModel(deps: TrainDeps, c: Candidate, features: readonly string[], data: TrainData, params: TrainParams) {
  const prep = fitPreprocessing(data.rows, features, params.preprocessing);
  const encoder = createEncoder(prep);
  const weights = c.params.group_weight === 'balanced' ? groupBalancedWeights(data.groups) : undefined;
  const net = trainNetwork(deps.tf, c.family, resolveParams(c.family, c.params), encoder.encode(data.rows), data.y, encoder.width, params.seed, weights);
  return { prep, encoder, net };
}

/** Grouped k-fold CV of one tfjs candidate, using the build's folds. */
export function cvCandidate(deps: TrainDeps, data: TrainData, features: readonly string[], c: Candidate, params: TrainParams, round: Trial['round']): Trial {
  const t0 = deps.now();
  const folds: FoldMetrics[] = [];
  const oof = new Float64Array(data.y.length);
  for (const k of foldIds(data)) {
    const { train, val } = splitFold(data, k);
    const tr = subset(data, train);
    const va = subset(data, val);
    const { encoder, net } = fitNetworkModel(deps, c, features, tr, params);
    const p = predictNetwork(deps.tf, net, encoder.encode(va.rows), va.rows.length);
    net.model.dispose();
    folds.push(foldMetrics(va.y, p));
    val.forEach((i, j) => (oof[i] = p[j]!));
  }
  const params_ = resolveParams(c.family, c.params) as unknown as Record<string, unknown>;
  return trial(round, c.id, c.family, c.search, params_, data, oof, folds, params, (deps.now() - t0) / 1000);
}

function trial(
  round: Trial['round'],
  candidate: string,
  family: Trial['family'],
  search: Trial['search'],
  hyper: Record<string, unknown>,
  data: TrainData,
  oof: Float64Array,
  folds: FoldMetrics[],
  params: TrainParams,
  seconds: number,
): Trial {
  const metric = params.selection_metric;
  // Rows outside every fold (fold -1) have no out-of-fold prediction.
  const inFold = Array.from(data.folds, (f, i) => (f >= 0 ? i : -1)).filter((i) => i >= 0);
  const { mean, std } = summarise(folds);
  const scores = folds.map((f) => selectionScore(f, metric));
  const sm = summarise(scores.map((s) => ({ pr_auc: s, roc_auc: s, log_loss: s, brier: s })));
  const pooled = foldMetrics(
    inFold.map((i) => data.y[i]!),
    inFold.map((i) => oof[i]!),
  );
  // score_mean is what selection ranks by: the fold mean, or (selection_aggregate 'pooled') the pooled out-of-fold score.
  const score = params.selection_aggregate === 'pooled' ? selectionScore(pooled, metric) : sm.mean.pr_auc;
  return { round, candidate, family, search, params: hyper, rows: data.y.length, fold_metrics: folds, mean, std, score_mean: score, score_std: sm.std.pr_auc, oof: pooled, seconds };
}

function baselineScores(family: 'prior' | 'rule', rule: readonly RuleCondition[], trainY: ArrayLike<number>, rows: readonly Row[]): Float64Array {
  if (family === 'rule') return Float64Array.from(rows, (r) => ruleScore(rule, r));
  let s = 0;
  for (let i = 0; i < trainY.length; i++) s += trainY[i]!;
  return new Float64Array(rows.length).fill(trainY.length ? s / trainY.length : 0);
}

function cvBaseline(deps: TrainDeps, data: TrainData, family: 'prior' | 'rule', params: TrainParams): Trial {
  const t0 = deps.now();
  const folds: FoldMetrics[] = [];
  const oof = new Float64Array(data.y.length);
  for (const k of foldIds(data)) {
    const { train, val } = splitFold(data, k);
    const va = subset(data, val);
    const p = baselineScores(family, params.rule.all as RuleCondition[], Float32Array.from(train, (i) => data.y[i]!), va.rows);
    folds.push(foldMetrics(va.y, p));
    val.forEach((i, j) => (oof[i] = p[j]!));
  }
  const p = family === 'rule' ? { all: params.rule.all } : {};
  return trial('baseline', family, family, 'fixed', p, data, oof, folds, params, (deps.now() - t0) / 1000);
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
 * (grouped CV with the build's folds), the winner refitted on all training rows and calibrated on
 * the calibration slice; the prior and rule baselines are cross-validated and calibrated the same way.
 */
export async function trainAndSelect(
  deps: TrainDeps,
  train: TrainData,
  calibration: { rows: readonly Row[]; y: Float32Array },
  features: readonly string[],
  params: TrainParams,
): Promise<TrainResult> {
  const log = deps.log ?? (() => undefined);
  if (foldIds(train).length < 2) throw new Error('train: the train split needs at least two CV folds (fold column from the build stage)');
  if (calibration.rows.length === 0) throw new Error('train: the calibration split is empty');
  const candidates: Candidate[] = [];
  const fam = params.families;
  if (fam.logistic) candidates.push(...familyCandidates('logistic', fam.logistic, params.seed));
  if (fam.mlp) candidates.push(...familyCandidates('mlp', fam.mlp, params.seed + 1));
  if (candidates.length === 0) throw new Error('train: params.families declares no candidates');

  const sampleIdx = sampleGroups(train.groups, params.sample_round.fraction, params.sample_round.max_rows, params.seed);
  const sample = subset(train, sampleIdx);
  log(`round 1 (algorithm selection): ${candidates.length} candidates on a sample of ${sample.y.length} rows`);
  const sampleTrials = candidates.map((c) => {
    const t = cvCandidate(deps, sample, features, c, params, 'sample');
    log(`  ${c.id} ${JSON.stringify(c.params)} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)} (${t.seconds.toFixed(1)}s)`);
    return t;
  });

  const ranked = [...sampleTrials].sort(rank);
  const finalistIds = new Set<string>();
  for (const f of ['logistic', 'mlp']) {
    const best = ranked.find((t) => t.family === f);
    if (best) finalistIds.add(best.candidate);
  }
  for (const t of ranked) if (finalistIds.size < Math.max(params.sample_round.finalists, finalistIds.size)) finalistIds.add(t.candidate);

  const fullIdx = train.y.length > params.full_round.max_rows ? sampleGroups(train.groups, 1, params.full_round.max_rows, params.seed + 1) : null;
  const full = fullIdx ? subset(train, fullIdx) : train;
  log(`round 2 (finalists on all training rows): ${[...finalistIds].join(', ')} on ${full.y.length} rows`);
  // When the round-1 sample already holds every training row, round 2 would repeat the same fits:
  // its trials are round 1's for the finalists (same data, same seed, same result), not refitted.
  const sameRows = sample.y.length === full.y.length;
  const fullTrials = candidates
    .filter((c) => finalistIds.has(c.id))
    .map((c) => {
      const reused = sameRows ? sampleTrials.find((t) => t.candidate === c.id) : undefined;
      if (reused) return { ...reused, round: 'full' as const };
      const t = cvCandidate(deps, full, features, c, params, 'full');
      log(`  ${c.id} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)} (${t.seconds.toFixed(1)}s)`);
      return t;
    });
  const baselineTrials = (['prior', 'rule'] as const).map((f) => cvBaseline(deps, full, f, params));
  for (const t of baselineTrials) log(`  baseline ${t.family} ${params.selection_metric} ${t.score_mean.toFixed(4)} ± ${t.score_std.toFixed(4)}`);

  const winner = [...fullTrials].sort(rank)[0]!;
  const candidate = candidates.find((c) => c.id === winner.candidate)!;
  log(`chosen: ${candidate.id} (${candidate.family}); refitting on ${full.y.length} rows and calibrating on ${calibration.rows.length}`);
  const { prep, encoder, net } = fitNetworkModel(deps, candidate, features, full, params);
  const raw = predictNetwork(deps.tf, net, encoder.encode(calibration.rows), calibration.rows.length);
  const artifacts = await networkArtifacts(deps.tf, net);
  net.model.dispose();
  const cal = calibrated(calibration.y, raw, params, true);

  const baseline = (family: 'prior' | 'rule'): FittedModel => {
    const t = baselineTrials.find((b) => b.family === family)!;
    const rule = params.rule.all as RuleCondition[];
    const rawB = baselineScores(family, rule, full.y, calibration.rows);
    // The prior is already calibrated (the training prevalence); the rule's 0/1 score is mapped to probabilities.
    const c = calibrated(calibration.y, rawB, params, family === 'rule');
    let prevalence = 0;
    for (let i = 0; i < full.y.length; i++) prevalence += full.y[i]!;
    prevalence /= Math.max(full.y.length, 1);
    return {
      family,
      features: family === 'rule' ? [...new Set(rule.map((r) => r.feature))] : [],
      params: family === 'rule' ? { all: rule } : { probability: prevalence },
      preprocessing: { none: true },
      artifacts: baselineArtifacts(family === 'rule' ? { format: 'bolsillo-baseline', family: 'rule', all: rule } : { format: 'bolsillo-baseline', family: 'prior', probability: prevalence }),
      calibration: c.calibration,
      calibration_scores: c.scores,
      threshold: c.threshold,
      calibration_metrics: c.metrics,
      trial: t,
    };
  };

  return {
    sample_trials: sampleTrials,
    full_trials: fullTrials,
    baseline_trials: baselineTrials,
    best: {
      family: candidate.family,
      features,
      params: winner.params,
      preprocessing: prep,
      artifacts,
      calibration: cal.calibration,
      calibration_scores: cal.scores,
      threshold: cal.threshold,
      calibration_metrics: cal.metrics,
      trial: winner,
    },
    baselines: { prior: baseline('prior'), rule: baseline('rule') },
    sample_rows: sample.y.length,
    train_rows: full.y.length,
    calibration_rows: calibration.rows.length,
    folds: foldIds(train).length,
  };
}
