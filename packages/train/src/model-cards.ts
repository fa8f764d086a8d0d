/**
 * The model cards of a training run (pure): population and limitations of the data a model rests
 * on, the trials table, and each registered version's card.
 */
import { newVersionId } from '@bolsillo/model';
import { TARGET, type ModelCard, type ModelLimitations, type PopulationSlice } from '@bolsillo/schema';
import type { SampleRecord } from './master-reader';
import type { TrainParams } from './params';
import type { FittedModel, Trial, TrainResult } from './train';

const finite = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

/** Rows, positives, customers, positive customers and date range of a slice of master rows. */
export function populationOf(rows: readonly Record<string, unknown>[], target: string, group: string): PopulationSlice {
  const customers = new Set<string>();
  const positive = new Set<string>();
  let positives = 0;
  let from: string | null = null;
  let to: string | null = null;
  for (const r of rows) {
    const g = String(r[group]);
    customers.add(g);
    if (r[target]) {
      positives++;
      positive.add(g);
    }
    const d = r.date === null || r.date === undefined ? null : String(r.date);
    if (d !== null) {
      if (from === null || d < from) from = d;
      if (to === null || d > to) to = d;
    }
  }
  return {
    rows: rows.length,
    positives,
    customers: customers.size,
    positive_customers: positive.size,
    date_from: from,
    date_to: to,
  };
}

/**
 * The card's limitations: how many customers the model rests on, how much one customer dominates
 * the positives, and how thin the calibration data is; warnings below the thresholds.
 */
export function limitationsOf(
  train: readonly Record<string, unknown>[],
  calibration: PopulationSlice,
  target: string,
  group: string,
  thresholds: { min_customers: number; min_positive_customers: number },
): ModelLimitations {
  const pop = populationOf(train, target, group);
  const byCustomer = new Map<string, number>();
  for (const r of train) if (r[target]) byCustomer.set(String(r[group]), (byCustomer.get(String(r[group])) ?? 0) + 1);
  const top = Math.max(0, ...byCustomer.values());
  const share = pop.positives ? top / pop.positives : 0;
  const warnings: string[] = [];
  if (pop.customers < thresholds.min_customers)
    warnings.push(
      `trained on ${pop.customers} customers (fewer than ${thresholds.min_customers}): estimates rest on few people and may not carry over to others`,
    );
  if (pop.positive_customers < thresholds.min_positive_customers)
    warnings.push(
      `only ${pop.positive_customers} training customers have a positive (fewer than ${thresholds.min_positive_customers})`,
    );
  if (share >= 0.5)
    warnings.push(
      `one customer holds ${(100 * share).toFixed(1)}% of the training positives (${top} of ${pop.positives}): the model may have learnt that customer`,
    );
  if (calibration.positive_customers < thresholds.min_positive_customers)
    warnings.push(
      `calibration data: ${calibration.customers} customers, ${calibration.positive_customers} with a positive (${calibration.positives} positive rows): probabilities are calibrated on thin data`,
    );
  return {
    train_customers: pop.customers,
    train_positive_customers: pop.positive_customers,
    dominant_customer_positive_share: share,
    calibration,
    thresholds,
    warnings,
  };
}

/** The trials table as CSV: one row per trial, params as JSON, fold scores and mean ± std. */
export function trialsCsv(trials: readonly Trial[]): string {
  const header = [
    'round',
    'candidate',
    'family',
    'search',
    'rows',
    'customers',
    'positive_customers',
    'params',
    'pr_auc_mean',
    'pr_auc_std',
    'roc_auc_mean',
    'log_loss_mean',
    'brier_mean',
    'score_mean',
    'score_std',
    'oof_pr_auc',
    'fold_pr_auc',
    'seconds',
  ];
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = trials.map((t) =>
    [
      t.round,
      t.candidate,
      t.family,
      t.search,
      t.rows,
      t.customers,
      t.positive_customers,
      q(JSON.stringify(t.params)),
      t.mean.pr_auc,
      t.std.pr_auc,
      t.mean.roc_auc,
      t.mean.log_loss,
      t.mean.brier,
      t.score_mean,
      t.score_std,
      t.oof.pr_auc,
      q(t.fold_metrics.map((f) => f.pr_auc.toFixed(6)).join(' ')),
      t.seconds.toFixed(3),
    ].join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** What every card of one training run shares. */
export interface TrainingRun {
  readonly params: TrainParams;
  readonly result: TrainResult;
  /** The master table trained on, its target horizon and what was sampled from it. */
  readonly hash: string;
  readonly horizon: number | null;
  readonly sampled: SampleRecord;
  readonly created: Date;
  readonly seconds: number;
  /** The tfjs backend the networks trained on. */
  readonly backend: string;
  readonly codeVersion: string;
  /** The champion when the run started. */
  readonly parent: string | null;
  readonly population: { readonly train: PopulationSlice; readonly calibration: PopulationSlice };
  readonly limitations: ModelLimitations;
  /** The candidate's version: its verdict is the one record of the comparison, for its baselines too. */
  readonly candidateVersion: string;
}

/**
 * Version ids of a run's models, one second apart from `created`: the baselines get earlier ids than
 * the chosen model, so "newest version" is the trained model.
 */
export function versionIds(
  created: Date,
  baselineKinds: readonly string[],
): { candidate: string; baselines: Record<string, string> } {
  const at = (offset: number) => newVersionId(new Date(created.getTime() + offset * 1000));
  const candidate = at(baselineKinds.length);
  return { candidate, baselines: Object.fromEntries(baselineKinds.map((k, i) => [k, at(i)])) };
}

/** The card of one fitted model of the run. */
export function modelCard(
  run: TrainingRun,
  v: string,
  m: FittedModel,
  role: 'candidate' | 'baseline',
  extra: Partial<ModelCard> = {},
): ModelCard {
  const { params, result, hash, horizon, sampled, created, seconds, backend, parent, limitations, candidateVersion } =
    run;
  const code = run.codeVersion;
  const trainPop = run.population.train;
  const calPop = run.population.calibration;
  return {
    version: v,
    created_at: created.toISOString(),
    family: m.family,
    features: [...m.features],
    preprocessing: m.preprocessing as Record<string, unknown>,
    calibration: {
      ...m.calibration,
      select_by: params.calibration.select_by,
      comparison: m.calibration_scores,
      fitted_on: 'calibration split',
    },
    threshold: m.threshold,
    master_hash: hash,
    params: { ...m.params, seed: params.seed },
    cv: {
      selection_metric: params.selection_metric,
      folds: result.folds,
      plan: result.cv_plan,
      rows: m.trial.rows,
      customers: m.trial.customers,
      positive_customers: m.trial.positive_customers,
      positives: m.trial.positives,
      repeat_scores: m.trial.repeat_scores,
      mean: m.trial.mean,
      std: m.trial.std,
      fold_metrics: m.trial.fold_metrics,
      score_mean: m.trial.score_mean,
      score_std: m.trial.score_std,
      oof: m.trial.oof,
      rounds: {
        sample: {
          rows: result.sample_rows,
          candidates: result.sample_trials.length,
          max_rows: params.sample_round.max_rows,
          fraction: params.sample_round.fraction,
        },
        full: {
          rows: result.train_rows,
          finalists: result.full_trials.map((t) => t.candidate),
          max_rows: params.full_round.max_rows,
        },
        sampling: sampled,
        selection_aggregate: params.selection_aggregate ?? 'fold_mean',
      },
    },
    metrics: finite({
      cv_pr_auc: m.trial.mean.pr_auc,
      cv_pr_auc_std: m.trial.std.pr_auc,
      cv_roc_auc: m.trial.mean.roc_auc,
      cv_log_loss: m.trial.mean.log_loss,
      cv_brier: m.trial.mean.brier,
      cv_oof_pr_auc: m.trial.oof.pr_auc,
      cv_oof_roc_auc: m.trial.oof.roc_auc,
      ...m.calibration_metrics,
    }),
    training_seconds: seconds,
    // Trees are trained by plain TypeScript loops; the tfjs backend only concerns the network families.
    backend: m.family === 'gbdt' ? 'typescript' : backend,
    code_version: code,
    parent,
    role,
    selection_metric: params.selection_metric,
    ...(m.baseline_kind ? { baseline_kind: m.baseline_kind } : {}),
    intended_use: params.card?.intended_use ?? `Forecast of ${TARGET}.`,
    target: TARGET,
    horizon_days: horizon,
    population: { train: trainPop, calibration: calPop, sampled: sampled.train_rows < sampled.train_rows_available },
    limitations,
    // The verdict of this training run's candidate is the one record of the comparison, for the candidate and its baselines alike.
    evaluation: { verdict_file: `reports/${candidateVersion}/verdict.json` },
    ...extra,
  };
}
