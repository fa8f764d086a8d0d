import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTf } from '@bolsillo/model';
import { TARGET } from '@bolsillo/schema';
import { syntheticMasterRows, SYNTHETIC_FEATURES, TEST_BASELINES, writeSyntheticMaster } from './fixture.test-util';
import { readTrainingRows, sampleGroupsByFold } from './master-reader';
import type { TrainParams } from './params';
import { groupBalancedWeights, trainAndSelect, type TrainData } from './train';

const rows = syntheticMasterRows(60, 20, 5);

describe('sampling the master table', () => {
  it('keeps whole customers, stratified by fold, seeded, within the cap', () => {
    const groups = Int32Array.from({ length: 1000 }, (_, i) => Math.floor(i / 10));
    const folds = Int32Array.from(groups, (g) => g % 5);
    const a = sampleGroupsByFold(groups, folds, 300, 3);
    expect(Array.from(a)).toEqual(Array.from(sampleGroupsByFold(groups, folds, 300, 3)));
    expect(a.length).toBeLessThanOrEqual(300);
    expect(a.length).toBeGreaterThan(250);
    const kept = new Set(Array.from(a, (i) => groups[i]));
    // Whole customers only, and every fold keeps its share.
    expect(Array.from(groups).filter((g) => kept.has(g))).toHaveLength(a.length);
    for (let f = 0; f < 5; f++) expect(Array.from(a).filter((i) => folds[i] === f).length).toBe(60);
    expect(Array.from(sampleGroupsByFold(groups, folds, 300, 4))).not.toEqual(Array.from(a));
    expect(sampleGroupsByFold(groups, folds, 5000, 3)).toHaveLength(1000);
  });

  it('reads only the needed columns of the train and calibration rows, and records what it sampled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-read-'));
    try {
      const file = path.join(writeSyntheticMaster(dir, rows), 'master.parquet');
      const all = await readTrainingRows(file, ['amount', 'split', 'fold', 'group', TARGET], {
        maxTrainRows: 1e9,
        maxCalibrationRows: 1e9,
        seed: 1,
      });
      expect(all.train).toHaveLength(rows.filter((r) => r.split === 'train').length);
      expect(all.calibration).toHaveLength(rows.filter((r) => r.split === 'calibration').length);
      expect(Object.keys(all.train[0]!).sort()).toEqual(['amount', 'fold', 'group', TARGET, 'split'].sort());
      const capped = await readTrainingRows(file, ['amount', 'split', 'fold', 'group'], {
        maxTrainRows: 200,
        maxCalibrationRows: 60,
        seed: 1,
      });
      expect(capped.train.length).toBeLessThanOrEqual(200);
      expect(capped.calibration.length).toBeLessThanOrEqual(60);
      expect(capped.sample.train_rows).toBe(capped.train.length);
      expect(capped.sample.train_rows_available).toBe(all.train.length);
      expect(capped.sample.train_groups).toBe(new Set(capped.train.map((r) => r.group)).size);
      expect(capped.train.every((r) => r.split === 'train')).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('group-balanced weights give every customer the same total weight, mean 1', () => {
    const w = groupBalancedWeights(['a', 'a', 'a', 'b']);
    expect(w[0]! * 3).toBeCloseTo(w[3]!, 6);
    expect(Array.from(w).reduce((s, v) => s + v, 0)).toBeCloseTo(4, 6);
  });
});

describe('pooled selection and group weights', () => {
  const PARAMS: TrainParams = {
    seed: 3,
    selection_metric: 'pr_auc',
    selection_aggregate: 'pooled',
    preprocessing: { min_category_count: 2, max_categories: 10, numeric_bins: 4 },
    sample_round: { fraction: 1, max_rows: 100000, finalists: 2 },
    full_round: { max_rows: 100000 },
    families: {
      logistic: {
        fixed: { learning_rate: 0.1, epochs: 20, batch_size: 4096 },
        grid: {},
        random: { trials: 0, space: {} },
      },
      mlp: {
        fixed: { learning_rate: 0.05, epochs: 20, batch_size: 4096, hidden: [8], max_steps: 15 },
        grid: { group_weight: ['none', 'balanced'] },
        random: { trials: 0, space: {} },
      },
    },
    baselines: TEST_BASELINES,
    cv: { scheme: 'build' },
    calibration: { methods: ['platt', 'isotonic'], select_by: 'brier' },
  };
  // Customers of unequal size (every third keeps 5 of its rows), so group weights differ from 1.
  const tr = rows
    .filter((r) => r.split === 'train')
    .filter((r, i, all) => {
      const g = String(r.group);
      const order = [...new Set(all.map((x) => String(x.group)))].indexOf(g);
      return order % 3 !== 0 || all.slice(0, i).filter((x) => x.group === g).length < 5;
    });
  const cal = rows.filter((r) => r.split === 'calibration');
  const train: TrainData = {
    rows: tr,
    y: Float32Array.from(tr, (r) => (r[TARGET] ? 1 : 0)),
    folds: Int32Array.from(tr, (r) => Number(r.fold)),
    groups: tr.map((r) => String(r.group)),
  };
  const calibration = { rows: cal, y: Float32Array.from(cal, (r) => (r[TARGET] ? 1 : 0)) };

  it('same seed → same metrics; pooled score is the out-of-fold PR-AUC; a full-size sample is not refitted in round 2', async () => {
    const { tf } = await loadTf();
    const deps = { tf, now: () => 0 };
    const a = await trainAndSelect(deps, train, calibration, SYNTHETIC_FEATURES, PARAMS);
    const b = await trainAndSelect(deps, train, calibration, SYNTHETIC_FEATURES, PARAMS);
    expect(a.sample_trials.map((t) => t.score_mean)).toEqual(b.sample_trials.map((t) => t.score_mean));
    for (const t of a.sample_trials) expect(t.score_mean).toBe(t.oof.pr_auc);
    // group_weight changes the fit (it is a real search dimension), and is recorded in the trial params.
    const [none, balanced] = a.sample_trials.filter((t) => t.family === 'mlp');
    expect(none!.params.group_weight).toBe('none');
    expect(balanced!.params.group_weight).toBe('balanced');
    expect(none!.oof.pr_auc).not.toBe(balanced!.oof.pr_auc);
    expect(a.sample_rows).toBe(a.train_rows);
    for (const t of a.full_trials)
      expect(t.fold_metrics).toEqual(a.sample_trials.find((s) => s.candidate === t.candidate)!.fold_metrics);
    expect(a.best.trial.score_mean).toBeGreaterThan(a.baseline_trials.find((t) => t.family === 'prior')!.score_mean);
  });
});
