import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { averagePrecision, loadParams, seededRandom } from '@bolsillo/core';
import {
  baselineArtifacts,
  compileTreeEnsemble,
  createEncoder,
  loadModel,
  loadTf,
  newVersionId,
  treeLogits,
  writeModelVersion,
  type TreeEnsembleJson,
} from '@bolsillo/model';
import type { ModelCard } from '@bolsillo/schema';
import { syntheticMasterRows, SYNTHETIC_FEATURES } from './fixture.test-util';
import { applyBins, fitBins, predictGbdt, resolveGbdtParams, trainGbdt } from './gbdt';
import { TrainParamsSchema, type TrainParams } from './params';
import { fitPreprocessing } from './preprocess-fit';
import { DEFAULT_PARAMS_FILE } from './run';
import { groupValidationMask, trainAndSelect, type TrainData } from './train';

const rows = syntheticMasterRows(60, 20, 5);
const y = Float32Array.from(rows, (r) => (r.revenge_in_horizon ? 1 : 0));
const prep = fitPreprocessing(rows, SYNTHETIC_FEATURES, { min_category_count: 2, max_categories: 10 });
const encoder = createEncoder(prep);
const x = encoder.encode(rows);

describe('gbdt binning', () => {
  it('puts every training value in the bin its threshold sends it to, with at most max_bins bins', () => {
    const n = 500;
    const rand = seededRandom(3);
    const width = 3;
    const v = new Float32Array(n * width);
    for (let r = 0; r < n; r++) {
      v[r * width] = rand() * 100; // many distinct values: quantile bins
      v[r * width + 1] = r % 2; // binary: one threshold
      v[r * width + 2] = 7; // constant: one bin, no threshold
    }
    const m = fitBins(v, n, width, 16);
    expect(m.thresholds.map((t) => t.length)).toEqual([15, 1, 0]);
    expect(m.thresholds[1]![0]).toBe(0.5);
    const bins = applyBins(m, v, n);
    for (let r = 0; r < n; r++) {
      const b = bins[r * width]!;
      const th = m.thresholds[0]!;
      if (b > 0) expect(v[r * width]!).toBeGreaterThanOrEqual(th[b - 1]!);
      if (b < th.length) expect(v[r * width]!).toBeLessThan(th[b]!);
      expect(bins[r * width + 2]).toBe(0);
    }
    // Quantile bins hold similar row counts.
    const counts = new Array<number>(16).fill(0);
    for (let r = 0; r < n; r++) counts[bins[r * width]!]!++;
    expect(Math.max(...counts)).toBeLessThan(2 * Math.min(...counts) + 10);
  });
});

describe('gbdt training', () => {
  const params = resolveGbdtParams({
    n_estimators: 40,
    learning_rate: 0.2,
    max_depth: 4,
    max_leaves: 12,
    subsample: 0.8,
    colsample: 0.8,
  });

  it('is deterministic for a seed and depends on it when subsampling', () => {
    const a = trainGbdt(x, y, encoder.width, params, 7);
    const b = trainGbdt(x, y, encoder.width, params, 7);
    expect(JSON.stringify(a.model)).toEqual(JSON.stringify(b.model));
    const c = trainGbdt(x, y, encoder.width, params, 8);
    expect(JSON.stringify(c.model)).not.toEqual(JSON.stringify(a.model));
  });

  it('learns the target: training PR-AUC well above the prevalence and above one tree', () => {
    const prevalence = y.reduce((s, v) => s + v, 0) / y.length;
    const many = predictGbdt(trainGbdt(x, y, encoder.width, params, 7).model, x, rows.length);
    const one = predictGbdt(trainGbdt(x, y, encoder.width, { ...params, n_estimators: 1 }, 7).model, x, rows.length);
    expect(averagePrecision(y, many)).toBeGreaterThan(Math.max(0.8, 3 * prevalence));
    expect(averagePrecision(y, many)).toBeGreaterThan(averagePrecision(y, one));
  });

  it('respects max_depth and max_leaves', () => {
    const { model } = trainGbdt(x, y, encoder.width, { ...params, max_depth: 2, max_leaves: 31 }, 7);
    for (const t of model.trees) {
      const depth = (i: number): number => (t.left[i]! < 0 ? 0 : 1 + Math.max(depth(t.left[i]!), depth(t.right[i]!)));
      expect(depth(0)).toBeLessThanOrEqual(2);
    }
    const leafy = trainGbdt(x, y, encoder.width, { ...params, max_depth: 10, max_leaves: 5 }, 7).model;
    for (const t of leafy.trees) expect(t.left.filter((l) => l < 0).length).toBeLessThanOrEqual(5);
  });

  it('early stopping on a validation set keeps the best round and fixed rounds reproduce the prefix', () => {
    const half = Math.floor(rows.length / 2);
    const w = encoder.width;
    const fit = trainGbdt(
      x.subarray(0, half * w),
      y.subarray(0, half),
      w,
      { ...params, n_estimators: 300, learning_rate: 0.5, early_stopping_rounds: 5 },
      7,
      {
        valid: { x: x.subarray(half * w), y: y.subarray(half) },
      },
    );
    expect(fit.rounds).toBeLessThan(300);
    expect(fit.model.trees).toHaveLength(fit.rounds);
    const bestLoss = Math.min(...fit.valid_loss);
    expect(fit.valid_loss[fit.rounds - 1]).toBe(bestLoss);
    expect(fit.valid_loss.length - fit.rounds).toBe(5);
    const fixed = trainGbdt(
      x.subarray(0, half * w),
      y.subarray(0, half),
      w,
      { ...params, n_estimators: 300, learning_rate: 0.5 },
      7,
      { rounds: fit.rounds },
    );
    expect(JSON.stringify(fixed.model)).toEqual(JSON.stringify(fit.model));
  });

  it('class weights move the raw probabilities up for the rare class', () => {
    const few = { ...params, n_estimators: 3 };
    const plain = predictGbdt(trainGbdt(x, y, encoder.width, few, 7).model, x, rows.length);
    const balanced = predictGbdt(
      trainGbdt(x, y, encoder.width, { ...few, class_weight: 'balanced' }, 7).model,
      x,
      rows.length,
    );
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(balanced)).toBeGreaterThan(mean(plain) + 0.1);
  });
});

describe('gbdt model file (trees as arrays, scored by core)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gbdt-roundtrip-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('save → load gives identical predictions, and contributions add up to the logit', async () => {
    const { model } = trainGbdt(
      x,
      y,
      encoder.width,
      resolveGbdtParams({ n_estimators: 30, max_depth: 4, subsample: 0.9, colsample: 0.7 }),
      11,
    );
    const expected = predictGbdt(model, x, rows.length);
    const version = newVersionId(new Date(Date.UTC(2024, 0, 1)));
    const card: ModelCard = {
      version,
      created_at: '2024-01-01T00:00:00.000Z',
      family: 'gbdt',
      features: [...SYNTHETIC_FEATURES],
      preprocessing: prep,
      calibration: { method: 'none' },
      threshold: 0.5,
      master_hash: 'fixture',
      params: {},
      cv: {},
      metrics: {},
      training_seconds: 0,
      backend: 'js',
      code_version: 'test',
    };
    await writeModelVersion(dir, card, { modelJson: model, weights: new Uint8Array(0) });
    const stored = JSON.parse(
      fs.readFileSync(path.join(dir, 'models', version, 'model.json'), 'utf8'),
    ) as TreeEnsembleJson;
    expect(stored.format).toBe('bolsillo-gbdt');
    expect(stored.trees).toHaveLength(30);
    const loaded = await loadModel(dir, version);
    const got = loaded.predict(rows);
    expect(Array.from(got)).toEqual(Array.from(expected));
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.3);
    // One row at a time (the API's path) gives the same numbers.
    for (let i = 0; i < 20; i++) expect(loaded.predict([rows[i]!])[0]).toBe(expected[i]);
    const scored = loaded.score(rows, true);
    expect(Array.from(scored.probabilities)).toEqual(Array.from(got));
    const logits = treeLogits(compileTreeEnsemble(stored), x, rows.length);
    for (let i = 0; i < 20; i++) {
      const c = scored.contributions![i]!;
      expect(Object.keys(c).sort()).toEqual([...SYNTHETIC_FEATURES].sort());
      expect(c).toEqual(loaded.contributions(rows[i]!));
      const bias = stored.base_score + stored.trees.reduce((s, t) => s + t.value[0]!, 0);
      expect(bias + Object.values(c).reduce((a, b) => a + b, 0)).toBeCloseTo(logits[i]!, 9);
    }
  });

  it('refuses a tree whose children do not point forward (a walk that could loop) and a wrong input count', async () => {
    const bad: TreeEnsembleJson = {
      format: 'bolsillo-gbdt',
      objective: 'binary:logistic',
      n_inputs: 2,
      base_score: 0,
      trees: [{ feature: [0, -1], threshold: [0.5, 0], left: [0, -1], right: [1, -1], value: [0, 1] }],
    };
    expect(() => compileTreeEnsemble(bad)).toThrow(/point forward/);
    expect(() =>
      compileTreeEnsemble({ ...bad, trees: [{ ...bad.trees[0]!, left: [1, -1], feature: [5, -1] }] }),
    ).toThrow(/input 5/);
    const version = newVersionId(new Date(Date.UTC(2024, 0, 2)));
    const ok: TreeEnsembleJson = { ...bad, n_inputs: 3, trees: [{ ...bad.trees[0]!, left: [1, -1], right: [1, -1] }] };
    await writeModelVersion(
      dir,
      {
        version,
        created_at: '',
        family: 'gbdt',
        features: [...SYNTHETIC_FEATURES],
        preprocessing: prep,
        calibration: { method: 'none' },
        threshold: 0.5,
        master_hash: 'x',
        params: {},
        cv: {},
        metrics: {},
        training_seconds: 0,
        backend: 'js',
        code_version: 't',
      },
      { ...baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: 0 }), modelJson: ok },
    );
    await expect(loadModel(dir, version)).rejects.toThrow(/trees expect 3 inputs/);
  });
});

describe('gbdt in the search', () => {
  const split = (name: string) => rows.filter((r) => r.split === name);
  const train = split('train');
  const cal = split('calibration');
  const data: TrainData = {
    rows: train,
    y: Float32Array.from(train, (r) => (r.revenge_in_horizon ? 1 : 0)),
    folds: Int32Array.from(train, (r) => Number(r.fold)),
    groups: train.map((r) => String(r.group)),
  };
  const calibration = { rows: cal, y: Float32Array.from(cal, (r) => (r.revenge_in_horizon ? 1 : 0)) };

  it('holds out whole customers for early stopping', () => {
    const mask = groupValidationMask(data.groups, 0.25, 3);
    const held = new Set(data.groups.filter((_, i) => mask[i]));
    data.groups.forEach((g, i) => expect(mask[i]).toBe(held.has(g) ? 1 : 0));
    const all = new Set(data.groups);
    expect(held.size).toBe(Math.round(all.size * 0.25));
    expect(groupValidationMask(data.groups, 0.25, 3)).toEqual(mask);
  });

  it("the default params search gbdt; the same seed gives the same chosen trees, refitted for the CV folds' mean early-stopped rounds", async () => {
    const defaults = loadParams(DEFAULT_PARAMS_FILE, TrainParamsSchema);
    expect(defaults.families.gbdt).toBeDefined();
    // The build's folds (5) keep the test short; the default plan repeats grouped k-fold.
    const params: TrainParams = {
      ...defaults,
      cv: { scheme: 'build' },
      families: { gbdt: { ...defaults.families.gbdt!, fixed: { ...defaults.families.gbdt!.fixed, n_estimators: 60 } } },
    };
    const { tf } = await loadTf();
    const deps = { tf, now: () => 0 };
    const a = await trainAndSelect(deps, data, calibration, SYNTHETIC_FEATURES, params);
    const b = await trainAndSelect(deps, data, calibration, SYNTHETIC_FEATURES, params);
    expect(a.best.family).toBe('gbdt');
    expect(JSON.stringify(a.best.artifacts.modelJson)).toEqual(JSON.stringify(b.best.artifacts.modelJson));
    expect(a.best.calibration).toEqual(b.best.calibration);
    const cvRounds = a.best.trial.params.cv_rounds as number[];
    expect(cvRounds).toHaveLength(a.best.trial.fold_metrics.length);
    const mean = Math.round(cvRounds.reduce((s, v) => s + v, 0) / cvRounds.length);
    expect(a.best.params.refit_rounds).toBe(mean);
    expect((a.best.artifacts.modelJson as TreeEnsembleJson).trees).toHaveLength(mean);
    expect(a.best.trial.score_mean).toBeGreaterThan(
      a.baseline_trials.find((t) => t.family === 'prior')!.score_mean + 0.3,
    );
  });
});
