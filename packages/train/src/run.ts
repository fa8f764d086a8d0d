import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { dataLayout, loadParams, packageFile, readContract, readParquetColumnNames } from '@bolsillo/core';
import { loadTf, newVersionId, readAliases, setAlias, writeModelVersion } from '@bolsillo/model';
import {
  BASELINE_KINDS,
  MasterLatestSchema,
  MasterManifestSchema,
  SelectionSchema,
  TARGET,
  type ModelCard,
  type ModelLimitations,
  type PopulationSlice,
} from '@bolsillo/schema';
import { TrainParamsSchema, type TrainParams } from './params';
import { readTrainingRows, type SampleRecord } from './master-reader';
import { trainAndSelect, type FittedModel, type Trial, type TrainResult } from './train';

/** Options of {@link runTrain}. */
export interface RunTrainOptions {
  readonly dataDir: string;
  /** Params file; default `packages/train/params.json` beside this package. */
  readonly paramsFile?: string;
  /** Params object (overrides the file; tests and benchmarks). */
  readonly params?: TrainParams;
  /** Master-table hash; default `master/latest.json`. */
  readonly masterHash?: string;
  /** Force a tfjs backend (`wasm` or `cpu`). */
  readonly backend?: string;
  readonly log?: (message: string) => void;
  /** Clock (injected so tests can pin version ids). */
  readonly now?: () => Date;
}

/** What a training run registered. */
export interface RunTrainSummary {
  readonly version: string;
  readonly family: string;
  readonly baselines: Record<string, string>;
  readonly master_hash: string;
  readonly backend: string;
  readonly train_rows: number;
  /** What was sampled from the master table (rows and customers kept of those available). */
  readonly sampling: SampleRecord;
  readonly cv: { readonly metric: string; readonly mean: number; readonly std: number };
  readonly baseline_cv: Record<string, number>;
  readonly limitations: ModelLimitations;
  readonly seconds: number;
  readonly result: TrainResult;
}

/** Default params file of the train stage. */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');

/** The code a model is trained from, for its card: `CODE_VERSION` (the image sets it), else the git commit. */
function codeVersion(): string {
  if (process.env.CODE_VERSION) return process.env.CODE_VERSION;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: __dirname,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

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

/**
 * Train on the latest master table and register the chosen model (as `challenger`) and every
 * baseline. I/O only; the logic is {@link trainAndSelect}.
 */
export async function runTrain(options: RunTrainOptions): Promise<RunTrainSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[train] ${m}\n`));
  const now = options.now ?? (() => new Date());
  const t0 = performance.now();
  const layout = dataLayout(options.dataDir);
  const params = options.params ?? loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, TrainParamsSchema);
  const hash = options.masterHash ?? readContract(layout.masterLatest, MasterLatestSchema, null)?.hash;
  if (!hash) throw new Error(`no master table: ${layout.masterLatest} is missing (run the build stage first)`);
  const masterFile = layout.masterTable(hash);
  if (!fs.existsSync(masterFile)) throw new Error(`${masterFile} not found`);
  const { features } = readContract(layout.masterSelection(hash), SelectionSchema);
  if (features.length === 0) throw new Error(`${layout.masterSelection(hash)}: no features selected`);
  const horizon = readContract(layout.masterManifest(hash), MasterManifestSchema, null)?.target.horizon_days ?? null;
  const present = new Set(await readParquetColumnNames(masterFile));
  // The customer column: the build's group column (the customer key), or the key itself.
  const group = present.has('group') ? 'group' : 'customer_key';
  const baselineFeatures = (['ratio_rule', 'ratio_graded', 'persistence'] as const).flatMap(
    (k) => params.baselines[k]?.feature ?? [],
  );
  const columns = [...new Set([...features, ...baselineFeatures, TARGET, group, 'date', 'split', 'fold'])].filter((c) =>
    present.has(c),
  );
  if (!present.has(TARGET)) throw new Error(`${masterFile}: no target column ${TARGET}`);
  // Only the needed columns, and row objects only for the (capped) train and calibration rows.
  const read = await readTrainingRows(masterFile, columns, {
    maxTrainRows: params.full_round.max_rows,
    maxCalibrationRows: params.calibration.max_rows ?? 50_000,
    seed: params.seed + 1,
  });
  const trainRows = read.train;
  const calRows = read.calibration;
  const sampled: SampleRecord = read.sample;
  log(
    `master ${hash}: ${features.length} features; train ${trainRows.length} of ${sampled.train_rows_available} rows (${sampled.train_groups} of ${sampled.train_groups_available} customers), calibration ${calRows.length} of ${sampled.calibration_rows_available}`,
  );
  const label = (r: Record<string, unknown>) => (r[TARGET] ? 1 : 0);

  const { tf, backend } = await loadTf({ log, prefer: options.backend });
  const result = await trainAndSelect(
    { tf, now: () => performance.now(), log },
    {
      rows: trainRows,
      y: Float32Array.from(trainRows, label),
      folds: Int32Array.from(trainRows, (r) => Number(r.fold)),
      groups: trainRows.map((r) => String(r[group])),
    },
    { rows: calRows, y: Float32Array.from(calRows, label) },
    features,
    params,
  );
  const seconds = (performance.now() - t0) / 1000;
  const trainPop = populationOf(trainRows, TARGET, group);
  const calPop = populationOf(calRows, TARGET, group);
  const limitations = limitationsOf(trainRows, calPop, TARGET, group, {
    min_customers: params.card?.min_customers ?? 30,
    min_positive_customers: params.card?.min_positive_customers ?? 10,
  });
  for (const w of limitations.warnings) log(`warning: ${w}`);

  const registry = layout.registry;
  const parent = readAliases(registry).champion;
  const created = now();
  const version = (offset: number) => newVersionId(new Date(created.getTime() + offset * 1000));
  const code = codeVersion();
  const card = (
    v: string,
    m: FittedModel,
    role: 'candidate' | 'baseline',
    extra: Partial<ModelCard> = {},
  ): ModelCard => ({
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
  });

  // Baselines get earlier ids than the chosen model, so "newest version" is the trained model.
  const kinds = BASELINE_KINDS.filter((k) => result.baselines[k]);
  const candidateVersion = version(kinds.length);
  const baselines: Record<string, string> = {};
  for (const [i, kind] of kinds.entries()) {
    const v = version(i);
    await writeModelVersion(registry, card(v, result.baselines[kind]!, 'baseline'), result.baselines[kind]!.artifacts);
    baselines[kind] = v;
  }
  const bestVersion = candidateVersion;
  const trials = [...result.sample_trials, ...result.full_trials, ...result.baseline_trials, ...result.feature_trials];
  await writeModelVersion(registry, card(bestVersion, result.best, 'candidate', { baselines }), result.best.artifacts, {
    'trials.json': `${JSON.stringify(trials, null, 2)}\n`,
    'trials.csv': trialsCsv(trials),
  });
  setAlias(
    registry,
    'challenger',
    bestVersion,
    `trained ${result.best.family} on master ${hash}; ${params.selection_metric} ${result.best.trial.score_mean.toFixed(4)}`,
  );
  log(
    `registered ${bestVersion} (${result.best.family}) as challenger; baselines ${kinds.map((k) => `${k} ${baselines[k]}`).join(', ')}`,
  );
  return {
    version: bestVersion,
    family: result.best.family,
    baselines,
    master_hash: hash,
    backend,
    train_rows: trainRows.length,
    sampling: sampled,
    cv: { metric: params.selection_metric, mean: result.best.trial.score_mean, std: result.best.trial.score_std },
    baseline_cv: Object.fromEntries(result.baseline_trials.map((t) => [t.candidate, t.score_mean])),
    limitations,
    seconds,
    result,
  };
}
