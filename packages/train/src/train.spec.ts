import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '@bolsillo/core';
import { listVersions, loadModel, loadTf, readAliases } from '@bolsillo/model';
import { TARGET } from '@bolsillo/schema';
import { syntheticMasterRows, SYNTHETIC_FEATURES, TEST_BASELINES, writeSyntheticMaster } from './fixture.test-util';
import { fitIsotonic, fitPlatt } from './calibration-fit';
import type { TrainParams } from './params';
import { runTrain } from './run';
import { formatList, formatShow } from './registry-cli';
import { familyCandidates, expandGrid } from './search';
import { sampleGroups, trainAndSelect, type TrainData } from './train';

/** Small, fast params for tests (the real defaults live in params.json). */
const PARAMS: TrainParams = {
  seed: 11,
  selection_metric: 'pr_auc',
  preprocessing: { min_category_count: 2, max_categories: 10, numeric_bins: 4 },
  sample_round: { fraction: 0.5, max_rows: 100000, finalists: 2 },
  full_round: { max_rows: 100000 },
  families: {
    logistic: {
      fixed: { learning_rate: 0.1, epochs: 8, batch_size: 256 },
      grid: { class_weight: ['none', 'balanced'] },
      random: { trials: 0, space: {} },
    },
    mlp: {
      fixed: { learning_rate: 0.05, epochs: 8, batch_size: 256, hidden: [8] },
      grid: {},
      random: { trials: 1, space: { l2: { log_uniform: [0.00001, 0.001] } } },
    },
  },
  baselines: TEST_BASELINES,
  cv: { scheme: 'group_kfold', folds: 3, repeats: 2 },
  calibration: { methods: ['platt', 'isotonic'], select_by: 'brier' },
};

function data(rows: Record<string, unknown>[]): {
  train: TrainData;
  cal: { rows: Record<string, unknown>[]; y: Float32Array };
} {
  const tr = rows.filter((r) => r.split === 'train');
  const cal = rows.filter((r) => r.split === 'calibration');
  return {
    train: {
      rows: tr,
      y: Float32Array.from(tr, (r) => (r[TARGET] ? 1 : 0)),
      folds: Int32Array.from(tr, (r) => Number(r.fold)),
      groups: tr.map((r) => String(r.group)),
    },
    cal: { rows: cal, y: Float32Array.from(cal, (r) => (r[TARGET] ? 1 : 0)) },
  };
}

describe('search spaces', () => {
  it('expands grids in a stable order and draws seeded random candidates', () => {
    expect(expandGrid({ b: [1, 2], a: ['x', 'y'] })).toEqual([
      { a: 'x', b: 1 },
      { a: 'x', b: 2 },
      { a: 'y', b: 1 },
      { a: 'y', b: 2 },
    ]);
    const space = {
      fixed: { epochs: 3 },
      grid: { l2: [0, 0.1] },
      random: { trials: 3, space: { learning_rate: { log_uniform: [0.001, 0.1] as [number, number] } } },
    };
    const a = familyCandidates('mlp', space, 5);
    expect(a).toEqual(familyCandidates('mlp', space, 5));
    expect(a.map((c) => c.search)).toEqual(['grid', 'grid', 'random', 'random', 'random']);
    expect(familyCandidates('mlp', space, 6).slice(2)).not.toEqual(a.slice(2));
    for (const c of a.slice(2)) expect(c.params.learning_rate).toBeGreaterThanOrEqual(0.001);
  });

  it('samples whole groups', () => {
    const groups = Array.from({ length: 100 }, (_, i) => `g${i % 10}`);
    const idx = sampleGroups(groups, 0.3, 1000, 1);
    expect(idx).toHaveLength(30);
    const picked = new Set(idx.map((i) => groups[i]));
    expect(groups.filter((g) => picked.has(g))).toHaveLength(30);
  });
});

describe('calibration fitting', () => {
  it('isotonic is monotone and Platt recovers a known logistic map', () => {
    const p = Array.from({ length: 400 }, (_, i) => (i + 0.5) / 400);
    const truth = p.map((q) => 1 / (1 + Math.exp(-(2 * Math.log(q / (1 - q)) - 1))));
    // Deterministic labels with the true rate inside each block of 20.
    const y = p.map((_, i) => ((i % 20) / 20 < truth[i]! ? 1 : 0));
    const iso = fitIsotonic(y, p);
    for (let i = 1; i < iso.y.length; i++) expect(iso.y[i]!).toBeGreaterThanOrEqual(iso.y[i - 1]!);
    const platt = fitPlatt(y, p);
    expect(platt.a).toBeGreaterThan(1.4);
    expect(platt.a).toBeLessThan(2.6);
    expect(platt.b).toBeLessThan(-0.4);
  });
});

describe('trainAndSelect', () => {
  const rows = syntheticMasterRows(120, 12, 5);
  it('same seed + same data → same CV metrics, and the chosen model beats both baselines', async () => {
    const { tf } = await loadTf();
    const { train, cal } = data(rows);
    let clock = 0;
    const deps = { tf, now: () => (clock += 1) };
    const a = await trainAndSelect(deps, train, cal, SYNTHETIC_FEATURES, PARAMS);
    const b = await trainAndSelect(deps, train, cal, SYNTHETIC_FEATURES, PARAMS);
    const scores = (r: typeof a) =>
      [...r.sample_trials, ...r.full_trials].map((t) => t.fold_metrics.map((f) => f.pr_auc));
    const sa = scores(a).flat();
    const sb = scores(b).flat();
    expect(sa.length).toBeGreaterThan(10);
    sa.forEach((v, i) => expect(Math.abs(v - sb[i]!)).toBeLessThan(1e-9));
    expect(a.sample_trials.length).toBe(4);
    expect(a.full_trials.length).toBe(2);
    expect(a.sample_rows).toBeLessThan(a.train_rows);
    const prior = a.baseline_trials.find((t) => t.family === 'prior')!;
    const rule = a.baseline_trials.find((t) => t.candidate === 'ratio_rule')!;
    expect(a.best.trial.score_mean).toBeGreaterThan(prior.score_mean);
    expect(a.best.trial.score_mean).toBeGreaterThan(rule.score_mean);
    // Two repeats of grouped 3-fold: six folds, two pooled scores, all on whole customers.
    expect(a.cv_plan).toMatchObject({ scheme: 'group_kfold', repeats: 2 });
    expect(a.best.trial.fold_metrics).toHaveLength(6);
    expect(a.best.trial.repeat_scores).toHaveLength(2);
    expect(a.best.trial.customers).toBe(new Set(train.groups).size);
    // best_feature: the single feature with the best grouped-CV score among every numeric model feature tried.
    const best = a.baseline_trials.find((t) => t.candidate === 'best_feature')!;
    expect(Math.max(...a.feature_trials.map((t) => t.score_mean))).toBe(best.score_mean);
    expect(a.baselines.best_feature!.features).toEqual([best.params.feature]);
    expect(a.feature_trials.map((t) => t.params.feature)).not.toContain('merchant_group');
    expect(['platt', 'isotonic']).toContain(a.best.calibration.method);
    expect(a.best.threshold).toBeGreaterThan(0);
  });
});

describe('runTrain (registry end to end on a master table written like the build stage)', () => {
  it('registers the chosen model as challenger beside prior and rule baselines, with its trials table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-run-'));
    try {
      writeSyntheticMaster(dir, syntheticMasterRows(80, 12, 9));
      const s = await runTrain({ dataDir: dir, params: PARAMS, log: () => undefined });
      const registry = path.join(dir, 'registry');
      const cards = listVersions(registry);
      expect(cards.map((c) => c.baseline_kind ?? c.family)).toEqual([
        'prior',
        'ratio_rule',
        'ratio_graded',
        'persistence',
        'best_feature',
        s.family,
      ]);
      expect(cards.slice(0, 5).every((c) => c.role === 'baseline')).toBe(true);
      expect(readAliases(registry).challenger).toBe(s.version);
      const best = cards[5]!;
      expect(best.master_hash).toBe('synthetic0001');
      expect(best.baselines).toEqual(Object.fromEntries(cards.slice(0, 5).map((c) => [c.baseline_kind, c.version])));
      // The card: population and limitations from the rows trained on, and where the verdict will be.
      expect(best.population!.train.customers).toBe(best.limitations!.train_customers);
      expect(best.population!.train.rows).toBe(s.train_rows);
      expect(best.population!.train.date_from! <= best.population!.train.date_to!).toBe(true);
      expect(best.limitations!.dominant_customer_positive_share).toBeGreaterThan(0);
      expect(cards.every((c) => c.evaluation!.verdict_file === `reports/${s.version}/verdict.json`)).toBe(true);
      // Every baseline is servable: it loads and scores probabilities like any model.
      for (const c of cards.slice(0, 5)) {
        const p = (await loadModel(registry, c.version)).predict(syntheticMasterRows(3, 4, 5));
        expect(p.every((v) => v > 0 && v < 1)).toBe(true);
      }
      expect(best.metrics.cv_pr_auc).toBeGreaterThan(cards[0]!.metrics.cv_pr_auc!);
      const trials = readJson<{ round: string }[]>(path.join(registry, 'models', s.version, 'trials.json'));
      expect(new Set(trials.map((t) => t.round))).toEqual(new Set(['sample', 'full', 'baseline', 'feature']));
      expect(fs.readFileSync(path.join(registry, 'models', s.version, 'trials.csv'), 'utf8').split('\n')[0]).toContain(
        'score_mean',
      );
      // What a person needs to trust a model: data hash, params, metrics, backend, when.
      const shown = formatShow(best, readAliases(registry), null);
      for (const needle of [
        best.master_hash,
        best.backend,
        best.created_at,
        'cv_pr_auc',
        'calibration_brier',
        '"seed":11',
        '(challenger)',
      ])
        expect(shown).toContain(needle);
      const listed = formatList(cards, readAliases(registry)).split('\n');
      expect(listed).toHaveLength(7);
      expect(listed[6]).toContain('[challenger]');
      const m = await loadModel(registry, s.version);
      const p = m.predict(syntheticMasterRows(5, 4, 99));
      expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
