/**
 * The I/O adapter of the train stage: read the master table as train needs it, train and select
 * (pure, in train.ts), then register every baseline and the chosen model as challenger.
 */
import { execFileSync } from 'node:child_process';
import { dataLayout, loadParams, packageFile } from '@bolsillo/core';
import { loadTf, readAliases } from '@bolsillo/model';
import { TARGET, type ModelLimitations } from '@bolsillo/schema';
import type { SampleRecord } from './master-reader';
import { limitationsOf, populationOf } from './model-cards';
import { TrainParamsSchema, type TrainParams } from './params';
import { registerRun } from './register-run';
import { trainAndSelect, type TrainResult } from './train';
import { readTrainingInputs } from './training-inputs';

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

/**
 * Train on the latest master table and register the chosen model (as `challenger`) and every
 * baseline. I/O only; the logic is {@link trainAndSelect}.
 */
export async function runTrain(options: RunTrainOptions): Promise<RunTrainSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[train] ${m}\n`));
  const t0 = performance.now();
  const layout = dataLayout(options.dataDir);
  const params = options.params ?? loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, TrainParamsSchema);
  const inputs = await readTrainingInputs(layout, params, options.masterHash);
  const { train, calibration, sampled, group } = inputs;
  log(
    `master ${inputs.hash}: ${inputs.features.length} features; train ${train.length} of ${sampled.train_rows_available} rows (${sampled.train_groups} of ${sampled.train_groups_available} customers), calibration ${calibration.length} of ${sampled.calibration_rows_available}`,
  );
  const label = (r: Record<string, unknown>) => (r[TARGET] ? 1 : 0);

  const { tf, backend } = await loadTf({ log, prefer: options.backend });
  const result = await trainAndSelect(
    { tf, now: () => performance.now(), log },
    {
      rows: train,
      y: Float32Array.from(train, label),
      folds: Int32Array.from(train, (r) => Number(r.fold)),
      groups: train.map((r) => String(r[group])),
    },
    { rows: calibration, y: Float32Array.from(calibration, label) },
    inputs.features,
    params,
  );
  const seconds = (performance.now() - t0) / 1000;
  const population = {
    train: populationOf(train, TARGET, group),
    calibration: populationOf(calibration, TARGET, group),
  };
  const limitations = limitationsOf(train, population.calibration, TARGET, group, {
    min_customers: params.card?.min_customers ?? 30,
    min_positive_customers: params.card?.min_positive_customers ?? 10,
  });
  for (const w of limitations.warnings) log(`warning: ${w}`);

  const registered = await registerRun(layout.registry, {
    params,
    result,
    hash: inputs.hash,
    horizon: inputs.horizon,
    sampled,
    created: (options.now ?? (() => new Date()))(),
    seconds,
    backend,
    codeVersion: codeVersion(),
    parent: readAliases(layout.registry).champion,
    population,
    limitations,
  });
  log(
    `registered ${registered.candidate} (${result.best.family}) as challenger; baselines ${Object.entries(
      registered.baselines,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return {
    version: registered.candidate,
    family: result.best.family,
    baselines: registered.baselines,
    master_hash: inputs.hash,
    backend,
    train_rows: train.length,
    sampling: sampled,
    cv: { metric: params.selection_metric, mean: result.best.trial.score_mean, std: result.best.trial.score_std },
    baseline_cv: Object.fromEntries(result.baseline_trials.map((t) => [t.candidate, t.score_mean])),
    limitations,
    seconds,
    result,
  };
}
