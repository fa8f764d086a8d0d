import { seededRandom } from '@bolsillo/core';
import { loadTf } from '@bolsillo/model';
import { syntheticMasterRows, SYNTHETIC_FEATURES, TEST_BASELINES } from './fixture.test-util';
import { resolveParams, trainNetwork } from './models';
import type { TrainParams } from './params';
import { trainAndSelect, type TrainData } from './train';

/** Rows whose first input decides the label (with noise), the rest noise a network can overfit. */
function noisy(n: number, width: number, seed: number) {
  const rand = seededRandom(seed);
  const x = new Float32Array(n * width);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < width; j++) x[i * width + j] = rand() * 2 - 1;
    y[i] = x[i * width]! + 0.8 * (rand() - 0.5) > 0.3 ? 1 : 0;
  }
  return { x, y };
}

describe('network early stopping', () => {
  it("stops on the validation loss, keeps the best epoch's weights, and a refit for those steps gives the same weights", async () => {
    const { tf } = await loadTf();
    const width = 30;
    const train = noisy(300, width, 1);
    const valid = noisy(300, width, 2);
    const p = resolveParams('mlp', {
      learning_rate: 0.05,
      epochs: 200,
      batch_size: 100,
      hidden: [32],
      early_stopping_steps: 12,
    });
    const fit = trainNetwork(tf, 'mlp', p, train.x, train.y, width, 5, undefined, { valid });
    // Three batches an epoch: steps are whole epochs, and training ran the patience past the best.
    expect(fit.steps % 3).toBe(0);
    expect(fit.steps).toBeLessThan(600);
    expect(fit.valid_loss).toHaveLength(fit.steps / 3 + 4);
    expect(fit.valid_loss[fit.steps / 3 - 1]).toBe(Math.min(...fit.valid_loss));
    const refit = trainNetwork(tf, 'mlp', p, train.x, train.y, width, 5, undefined, { steps: fit.steps });
    expect(refit.steps).toBe(fit.steps);
    expect(refit.valid_loss).toEqual([]);
    const weights = (m: typeof fit) => m.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(refit)).toEqual(weights(fit));
    fit.model.dispose();
    refit.model.dispose();
  });
});

describe('search with early-stopped networks and a one-repeat sample round', () => {
  const rows = syntheticMasterRows(90, 12, 7);
  const tr = rows.filter((r) => r.split === 'train');
  const cal = rows.filter((r) => r.split === 'calibration');
  const label = (r: Record<string, unknown>) => (r.revenge_in_horizon ? 1 : 0);
  const train: TrainData = {
    rows: tr,
    y: Float32Array.from(tr, label),
    folds: Int32Array.from(tr, (r) => Number(r.fold)),
    groups: tr.map((r) => String(r.group)),
  };
  const params: TrainParams = {
    seed: 4,
    selection_metric: 'pr_auc',
    selection_aggregate: 'pooled',
    preprocessing: { min_category_count: 2, max_categories: 10, numeric_bins: 4 },
    sample_round: { fraction: 0.6, max_rows: 100000, finalists: 1, repeats: 1, every_family: false },
    full_round: { max_rows: 100000 },
    families: {
      logistic: {
        fixed: {
          learning_rate: 0.1,
          epochs: 30,
          batch_size: 128,
          early_stopping_steps: 6,
          validation_fraction: 0.25,
        },
        grid: {},
        random: { trials: 0, space: {} },
      },
    },
    baselines: TEST_BASELINES,
    cv: { scheme: 'group_kfold', folds: 3, repeats: 2 },
    calibration: { methods: ['platt'], select_by: 'brier' },
  };

  it('round 1 uses the first repeat of the CV plan, round 2 all; the refit trains the folds’ mean steps', async () => {
    const { tf } = await loadTf();
    const deps = { tf, now: () => 0 };
    const a = await trainAndSelect(
      deps,
      train,
      { rows: cal, y: Float32Array.from(cal, label) },
      SYNTHETIC_FEATURES,
      params,
    );
    const b = await trainAndSelect(
      deps,
      train,
      { rows: cal, y: Float32Array.from(cal, label) },
      SYNTHETIC_FEATURES,
      params,
    );
    expect(a.sample_trials[0]!.fold_metrics).toHaveLength(3);
    expect(a.sample_trials[0]!.repeat_scores).toHaveLength(1);
    expect(a.full_trials[0]!.fold_metrics).toHaveLength(6);
    const steps = a.best.trial.params.cv_steps as number[];
    expect(steps).toHaveLength(6);
    const mean = steps.reduce((s, v) => s + v, 0) / steps.length;
    // The refit trains whole epochs on all rows: the mean rounded to its batches.
    const batches = Math.ceil(train.y.length / 128);
    expect(a.best.params.refit_steps).toBe(Math.max(1, Math.round(Math.round(mean) / batches)) * batches);
    expect(a.full_trials.map((t) => t.score_mean)).toEqual(b.full_trials.map((t) => t.score_mean));
    expect(a.best.artifacts.weights).toEqual(b.best.artifacts.weights);
  });

  it('trains the step budget on every row when the early-stopping fold has too few customers with a positive', async () => {
    const { tf } = await loadTf();
    const deps = { tf, now: () => 0 };
    const calibration = { rows: cal, y: Float32Array.from(cal, label) };
    const withFamily = (fixed: Record<string, unknown>): TrainParams => ({
      ...params,
      families: { logistic: { ...params.families.logistic!, fixed: { ...params.families.logistic!.fixed, ...fixed } } },
    });
    const few = await trainAndSelect(
      deps,
      train,
      calibration,
      SYNTHETIC_FEATURES,
      withFamily({ early_stopping_min_positive_customers: 1000 }),
    );
    const off = await trainAndSelect(
      deps,
      train,
      calibration,
      SYNTHETIC_FEATURES,
      withFamily({ early_stopping_steps: 0 }),
    );
    expect(few.best.trial.params.cv_steps).toBeUndefined();
    expect(few.best.params.refit_steps).toBeUndefined();
    expect(few.full_trials[0]!.fold_metrics).toEqual(off.full_trials[0]!.fold_metrics);
    expect(few.best.artifacts.weights).toEqual(off.best.artifacts.weights);
  });
});
