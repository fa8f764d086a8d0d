import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  loadParams,
  loadTf,
  newVersionId,
  readAliases,
  readJson,
  setAlias,
  writeModelVersion,
} from '@bolsillo/core';
import type { ModelCard } from '@bolsillo/schema';
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
  readonly seconds: number;
  readonly result: TrainResult;
}

/** Default params file of the train stage. */
export const DEFAULT_PARAMS_FILE = path.resolve(__dirname, '../params.json');

function codeVersion(): string {
  if (process.env.CODE_VERSION) return process.env.CODE_VERSION;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

const finite = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

/** The trials table as CSV: one row per trial, params as JSON, fold scores and mean ± std. */
export function trialsCsv(trials: readonly Trial[]): string {
  const header = ['round', 'candidate', 'family', 'search', 'rows', 'params', 'pr_auc_mean', 'pr_auc_std', 'roc_auc_mean', 'log_loss_mean', 'brier_mean', 'score_mean', 'score_std', 'oof_pr_auc', 'fold_pr_auc', 'seconds'];
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = trials.map((t) =>
    [
      t.round,
      t.candidate,
      t.family,
      t.search,
      t.rows,
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
 * Train on the latest master table and register the chosen model (as `challenger`) and the two
 * baselines. I/O only; the logic is {@link trainAndSelect}.
 */
export async function runTrain(options: RunTrainOptions): Promise<RunTrainSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[train] ${m}\n`));
  const now = options.now ?? (() => new Date());
  const t0 = performance.now();
  const layout = dataLayout(options.dataDir);
  const params = options.params ?? loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, TrainParamsSchema);
  const hash = options.masterHash ?? readJson<{ hash?: string }>(path.join(layout.master, 'latest.json'), {}).hash;
  if (!hash) throw new Error(`no master table: ${path.join(layout.master, 'latest.json')} is missing (run the build stage first)`);
  const dir = path.join(layout.master, hash);
  const masterFile = path.join(dir, 'master.parquet');
  if (!fs.existsSync(masterFile)) throw new Error(`${masterFile} not found`);
  const selection = readJson<{ features?: string[] }>(path.join(dir, 'selection.json'));
  const features = selection.features ?? [];
  if (features.length === 0) throw new Error(`${path.join(dir, 'selection.json')}: no features selected`);
  const columns = [...new Set([...features, ...params.rule.all.map((r) => r.feature), 'is_revenge_spending', 'group', 'split', 'fold'])];
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
  const label = (r: Record<string, unknown>) => (r.is_revenge_spending ? 1 : 0);

  const { tf, backend } = await loadTf({ log, prefer: options.backend });
  const result = await trainAndSelect(
    { tf, now: () => performance.now(), log },
    {
      rows: trainRows,
      y: Float32Array.from(trainRows, label),
      folds: Int32Array.from(trainRows, (r) => Number(r.fold)),
      groups: trainRows.map((r) => String(r.group)),
    },
    { rows: calRows, y: Float32Array.from(calRows, label) },
    features,
    params,
  );
  const seconds = (performance.now() - t0) / 1000;

  const registry = layout.registry;
  const parent = readAliases(registry).champion;
  const created = now();
  const version = (offset: number) => newVersionId(new Date(created.getTime() + offset * 1000));
  const code = codeVersion();
  const card = (v: string, m: FittedModel, role: 'candidate' | 'baseline', extra: Partial<ModelCard> = {}): ModelCard => ({
    version: v,
    created_at: created.toISOString(),
    family: m.family,
    features: [...m.features],
    preprocessing: m.preprocessing as Record<string, unknown>,
    calibration: { ...m.calibration, select_by: params.calibration.select_by, comparison: m.calibration_scores, fitted_on: 'calibration split' },
    threshold: m.threshold,
    master_hash: hash,
    params: { ...m.params, seed: params.seed },
    cv: {
      selection_metric: params.selection_metric,
      folds: result.folds,
      rows: m.trial.rows,
      mean: m.trial.mean,
      std: m.trial.std,
      fold_metrics: m.trial.fold_metrics,
      score_mean: m.trial.score_mean,
      score_std: m.trial.score_std,
      oof: m.trial.oof,
      rounds: {
        sample: { rows: result.sample_rows, candidates: result.sample_trials.length, max_rows: params.sample_round.max_rows, fraction: params.sample_round.fraction },
        full: { rows: result.train_rows, finalists: result.full_trials.map((t) => t.candidate), max_rows: params.full_round.max_rows },
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
    backend,
    code_version: code,
    parent,
    role,
    selection_metric: params.selection_metric,
    ...extra,
  });

  // Baselines get earlier ids than the chosen model, so "newest version" is the trained model.
  const priorVersion = version(0);
  const ruleVersion = version(1);
  const bestVersion = version(2);
  await writeModelVersion(registry, card(priorVersion, result.baselines.prior, 'baseline'), result.baselines.prior.artifacts);
  await writeModelVersion(registry, card(ruleVersion, result.baselines.rule, 'baseline'), result.baselines.rule.artifacts);
  const trials = [...result.sample_trials, ...result.full_trials, ...result.baseline_trials];
  const baselines = { prior: priorVersion, rule: ruleVersion };
  await writeModelVersion(registry, card(bestVersion, result.best, 'candidate', { baselines }), result.best.artifacts, {
    'trials.json': `${JSON.stringify(trials, null, 2)}\n`,
    'trials.csv': trialsCsv(trials),
  });
  setAlias(registry, 'challenger', bestVersion, `trained ${result.best.family} on master ${hash}; ${params.selection_metric} ${result.best.trial.score_mean.toFixed(4)}`);
  log(`registered ${bestVersion} (${result.best.family}) as challenger; baselines prior ${priorVersion}, rule ${ruleVersion}`);
  return {
    version: bestVersion,
    family: result.best.family,
    baselines,
    master_hash: hash,
    backend,
    train_rows: trainRows.length,
    sampling: sampled,
    cv: { metric: params.selection_metric, mean: result.best.trial.score_mean, std: result.best.trial.score_std },
    baseline_cv: Object.fromEntries(result.baseline_trials.map((t) => [t.family, t.score_mean])),
    seconds,
    result,
  };
}
