import fs from 'node:fs';
import path from 'node:path';
import {
  averagePrecision,
  brierScore,
  confusionAt,
  dataLayout,
  expectedCalibrationError,
  logLoss,
  rocAuc,
  seededRandom,
} from '@bolsillo/core';
import { bootstrapIndices, bootstrapRows, evaluateScores } from './metrics';
import { DEFAULT_EVALUATE_PARAMS, type EvaluateParams } from './params';
import { runEvaluate } from './run';
import { makeMasterRows, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';

function synthetic(n: number, seed: number): { y: Float64Array; p: Float64Array } {
  const rand = seededRandom(seed);
  const y = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rand() < 0.25 ? 1 : 0;
    // Rounded scores: many ties, the hard case for grouped ranking metrics.
    p[i] = Math.round(100 * Math.min(1, Math.max(0, 0.25 + 0.3 * (y[i]! - 0.25) + 0.8 * (rand() - 0.5)))) / 100;
  }
  return { y, p };
}

describe('bootstrap at scale', () => {
  it('one-pass weighted resamples give the same intervals as expanding each resample and calling the core metrics', () => {
    const { y, p } = synthetic(300, 4);
    const opts = { iterations: 25, confidence: 0.9, seed: 3, bins: 10 };
    const m = evaluateScores(y, p, 0.3, opts);
    // Reference: the textbook bootstrap on explicit index lists, same seed, same draws.
    const ref: Record<string, number[]> = { roc_auc: [], pr_auc: [], log_loss: [], brier: [], ece: [], tp: [] };
    for (const idx of bootstrapIndices(y.length, opts.iterations, opts.seed)) {
      const yb = Float64Array.from(idx, (i) => y[i]!);
      const pb = Float64Array.from(idx, (i) => p[i]!);
      ref.roc_auc!.push(rocAuc(yb, pb));
      ref.pr_auc!.push(averagePrecision(yb, pb));
      ref.log_loss!.push(logLoss(yb, pb));
      ref.brier!.push(brierScore(yb, pb));
      ref.ece!.push(expectedCalibrationError(yb, pb, 10));
      ref.tp!.push(confusionAt(yb, pb, 0.3).tp);
    }
    const q = (s: number[], a: number) => {
      const t = [...s].sort((x, z) => x - z);
      const pos = a * (t.length - 1);
      return t[Math.floor(pos)]! + (t[Math.ceil(pos)]! - t[Math.floor(pos)]!) * (pos - Math.floor(pos));
    };
    for (const k of ['roc_auc', 'pr_auc', 'log_loss', 'brier', 'ece'] as const) {
      expect(m.metrics[k].lo).toBeCloseTo(q(ref[k]!, 0.05), 10);
      expect(m.metrics[k].hi).toBeCloseTo(q(ref[k]!, 0.95), 10);
    }
    expect(m.confusion.tp.lo).toBeCloseTo(q(ref.tp!, 0.05), 10);
    expect(m.bootstrap_rows).toBe(300);
  });

  it('caps the resampled rows with a seeded subsample, keeps full-data point values and records the cap', () => {
    const { y, p } = synthetic(6000, 8);
    const opts = { iterations: 60, confidence: 0.95, seed: 9, bins: 10 };
    const full = evaluateScores(y, p, 0.3, opts);
    const capped = evaluateScores(y, p, 0.3, { ...opts, maxRows: 1500 });
    expect(capped).toEqual(evaluateScores(y, p, 0.3, { ...opts, maxRows: 1500 }));
    expect(capped.bootstrap_rows).toBe(1500);
    expect(capped.n).toBe(6000);
    expect(capped.metrics.roc_auc.value).toBe(full.metrics.roc_auc.value);
    expect(capped.confusion.tp.value).toBe(full.confusion.tp.value);
    for (const k of ['roc_auc', 'pr_auc', 'brier'] as const) {
      const e = capped.metrics[k];
      expect(e.lo).toBeLessThanOrEqual(e.value);
      expect(e.hi).toBeGreaterThanOrEqual(e.value);
      // Rescaled to the full size: the width is of the full-data interval's order, not twice it.
      const wFull = full.metrics[k].hi - full.metrics[k].lo;
      expect(e.hi - e.lo).toBeGreaterThan(0.5 * wFull);
      expect(e.hi - e.lo).toBeLessThan(2 * wFull);
    }
    // Counts are on the full-size scale.
    expect(capped.confusion.tp.hi).toBeGreaterThan(0.8 * full.confusion.tp.value);
    const rows = bootstrapRows(6000, 1500, 9);
    expect(rows.length).toBe(1500);
    expect(new Set(rows).size).toBe(1500);
    expect(bootstrapRows(6000, 1500, 10)).not.toEqual(rows);
  });
});

describe('runEvaluate with row caps', () => {
  it('refits the learning curve on a seeded capped sample and records both caps in metrics.json', async () => {
    const dir = tempDataDir('evaluate-scale-');
    try {
      const rows = makeMasterRows(1500, 21);
      writeMaster(dir, rows);
      const version = await registerLogistic(dir, -6, -4);
      const params: EvaluateParams = {
        ...DEFAULT_EVALUATE_PARAMS,
        bootstrap: { iterations: 20, confidence: 0.9, max_rows: 120 },
        learning_curve: { fractions: [0.5, 1], epochs: 10, l2: 0.001, max_rows: 200 },
      };
      const r = await runEvaluate({ dataDir: dir, params, noPromote: true });
      expect(r.rowsIn).toBe(1500);
      const metrics = JSON.parse(fs.readFileSync(path.join(dataLayout(dir).reports, version, 'metrics.json'), 'utf8'));
      const trainTotal = rows.filter((x) => x.split === 'train').length;
      expect(metrics.samples.learning_curve).toMatchObject({
        source: 'refit',
        train_rows: 200,
        train_total: trainTotal,
        cap: 200,
        seed: params.seed,
      });
      expect(metrics.learning_curve.map((x: { size: number }) => x.size)).toEqual([100, 200]);
      const test = metrics.contenders.find((c: { role: string }) => c.role === 'candidate').splits.test;
      expect(test.n).toBe(rows.filter((x) => x.split === 'test').length);
      // Capped by whole customers: the first customers whose rows reach the cap.
      expect(test.bootstrap_unit).toBe('customer');
      expect(test.bootstrap_rows).toBeGreaterThanOrEqual(120);
      expect(test.bootstrap_rows).toBeLessThan(120 + 20);
      expect(test.bootstrap_customers).toBeLessThan(test.customers);
      expect(metrics.samples.bootstrap.max_rows).toBe(120);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
