import { averagePrecision, confusionAt, rocAuc, seededRandom } from '@bolsillo/core';
import { TARGET } from '@bolsillo/schema';
import { liftByDecile, prCurve, rocCurve, scoreHistogram, thin } from './curves';
import { learningCurve } from './learning-curve';
import { evaluateScores, pairedDifference, perCustomerMetrics, resampleDesign, spreadOf } from './metrics';
import { chooseThreshold, valueOf } from './threshold';
import { lineChart } from './svg';
import { makeMasterRows } from './fixtures.test-util';

/** Labels with a known signal: score = noisy label. */
function synthetic(n: number, seed: number, noise: number): { y: Float64Array; p: Float64Array } {
  const rand = seededRandom(seed);
  const y = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rand() < 0.2 ? 1 : 0;
    p[i] = Math.min(1, Math.max(0, 0.2 + 0.4 * (y[i]! - 0.2) + noise * (rand() - 0.5)));
  }
  return { y, p };
}

describe('evaluateScores', () => {
  const { y, p } = synthetic(800, 1, 0.9);
  const opts = { iterations: 200, confidence: 0.95, seed: 5, bins: 10 };

  it('reports the core metric values as point estimates, inside their bootstrap intervals', () => {
    const m = evaluateScores(y, p, 0.3, opts);
    expect(m.metrics.roc_auc.value).toBe(rocAuc(y, p));
    expect(m.metrics.pr_auc.value).toBe(averagePrecision(y, p));
    expect(m.confusion.tp.value).toBe(confusionAt(y, p, 0.3).tp);
    for (const e of Object.values(m.metrics)) {
      expect(e.lo).toBeLessThanOrEqual(e.value + 1e-12);
      expect(e.hi).toBeGreaterThanOrEqual(e.value - 1e-12);
      expect(e.hi).toBeGreaterThan(e.lo);
    }
  });

  it('is reproducible with the same seed and narrows with more rows', () => {
    expect(evaluateScores(y, p, 0.3, opts)).toEqual(evaluateScores(y, p, 0.3, opts));
    const big = synthetic(4000, 1, 0.9);
    const few = { ...opts, iterations: 100 };
    const wSmall = evaluateScores(y, p, 0.3, few).metrics.roc_auc;
    const wBig = evaluateScores(big.y, big.p, 0.3, few).metrics.roc_auc;
    // Five times the rows: about sqrt(5) ≈ 2.2 times narrower.
    expect(wBig.hi - wBig.lo).toBeLessThan((wSmall.hi - wSmall.lo) / 1.5);
  });

  it('gives NaN bounds when the bootstrap is off', () => {
    const m = evaluateScores(y, p, 0.3, { ...opts, iterations: 0 });
    expect(Number.isNaN(m.metrics.f1.lo)).toBe(true);
    expect(Number.isFinite(m.metrics.f1.value)).toBe(true);
  });
});

describe('customer-level (cluster) bootstrap', () => {
  // 40 customers of 50 rows each; a customer's rows share one score offset, so rows of a customer are not independent.
  function clustered(seed: number): { y: Float64Array; p: Float64Array; g: Int32Array } {
    const rand = seededRandom(seed);
    const n = 2000;
    const y = new Float64Array(n);
    const p = new Float64Array(n);
    const g = new Int32Array(n);
    const offset = Array.from({ length: 40 }, () => (rand() - 0.5) * 0.6);
    const rate = Array.from({ length: 40 }, () => rand() * 0.4);
    for (let i = 0; i < n; i++) {
      g[i] = i % 40;
      y[i] = rand() < rate[g[i]!]! ? 1 : 0;
      p[i] = Math.min(1, Math.max(0, 0.3 + 0.3 * y[i]! + offset[g[i]!]! + 0.2 * (rand() - 0.5)));
    }
    return { y, p, g };
  }
  const opts = { iterations: 200, confidence: 0.95, seed: 5, bins: 10 };

  it('resamples whole customers: wider intervals than rows when rows of a customer move together, and the counts say so', () => {
    const { y, p, g } = clustered(3);
    const rows = evaluateScores(y, p, 0.5, opts);
    const people = evaluateScores(y, p, 0.5, { ...opts, groups: g });
    expect(people.metrics.pr_auc.value).toBe(rows.metrics.pr_auc.value);
    const width = (e: { lo: number; hi: number }) => e.hi - e.lo;
    expect(width(people.metrics.pr_auc)).toBeGreaterThan(1.3 * width(rows.metrics.pr_auc));
    expect(people).toMatchObject({ bootstrap_unit: 'customer', customers: 40, bootstrap_customers: 40 });
    expect(people.positive_customers).toBe(new Set(Array.from(g).filter((_, i) => y[i])).size);
    expect(rows.bootstrap_unit).toBe('row');
  });

  it('caps rows by whole customers, and one customer per row is the row bootstrap', () => {
    const { y, p, g } = clustered(4);
    const d = resampleDesign(y.length, { groups: g, maxRows: 500, seed: 1 });
    expect(d.units).toBe(10);
    expect(d.rows.length).toBe(500);
    expect(new Set(Array.from(d.rows, (r) => g[r])).size).toBe(10);
    const own = Int32Array.from({ length: y.length }, (_, i) => i);
    expect(evaluateScores(y, p, 0.5, { ...opts, groups: own }).metrics).toEqual(
      evaluateScores(y, p, 0.5, opts).metrics,
    );
  });

  it('pairs deltas over whole customers and reports per-customer metrics and their spread', () => {
    const { y, p, g } = clustered(5);
    const flat = new Float64Array(y.length).fill(0.3);
    const d = pairedDifference(
      y,
      { scores: p, threshold: 0.5 },
      { scores: flat, threshold: 0.5 },
      { ...opts, groups: g },
    );
    expect(d.roc_auc.lo).toBeGreaterThan(0);
    const per = perCustomerMetrics(y, p, g);
    expect(per).toHaveLength(40);
    expect(per.reduce((s, c) => s + c.rows, 0)).toBe(y.length);
    const withPos = per.filter((c) => c.positives > 0);
    const sp = spreadOf(per.map((c) => c.pr_auc));
    expect(sp.customers).toBe(withPos.length);
    expect(sp.min).toBeLessThanOrEqual(sp.median);
    expect(sp.median).toBeLessThanOrEqual(sp.max);
  });
});

describe('pairedDifference', () => {
  it('is exactly zero for a model against itself and clearly positive against a noisier one', () => {
    const opts = { iterations: 100, confidence: 0.95, seed: 3, bins: 10 };
    const rand = seededRandom(4);
    const { y, p } = synthetic(1000, 1, 0.5);
    const noisy = p.map((x) => Math.min(1, Math.max(0, x + (rand() - 0.5) * 0.8)));
    const same = pairedDifference(y, { scores: p, threshold: 0.3 }, { scores: p, threshold: 0.3 }, opts);
    expect(same.roc_auc).toEqual({ value: 0, lo: 0, hi: 0 });
    const d = pairedDifference(y, { scores: p, threshold: 0.3 }, { scores: noisy, threshold: 0.3 }, opts);
    expect(d.roc_auc.value).toBeCloseTo(rocAuc(y, p) - rocAuc(y, noisy), 12);
    expect(d.roc_auc.lo).toBeGreaterThan(0);
    expect(d.log_loss.hi).toBeLessThan(0);
  });
});

describe('chooseThreshold', () => {
  const { y, p } = synthetic(1000, 2, 0.6);
  const vm = { tp: 50, fp: -5, fn: -20, tn: 0 };

  it('finds the F1 maximum over every possible threshold', () => {
    const best = chooseThreshold(y, p, 'f1', vm);
    const f1s = [...new Set(p)].map((t) => confusionAt(y, p, t).f1);
    expect(best.achieved).toBeCloseTo(Math.max(...f1s), 12);
    expect(confusionAt(y, p, best.threshold).f1).toBeCloseTo(best.achieved, 12);
  });

  it('maximises total value, and flags nothing when every flag costs more than it earns', () => {
    const best = chooseThreshold(y, p, 'value', vm);
    const values = [...new Set(p)].map((t) => valueOf(confusionAt(y, p, t), vm));
    expect(best.achieved).toBe(Math.max(...values, valueOf(confusionAt(y, p, 2), vm)));
    // No gain from a hit, a cost per false alarm: flagging nothing is (jointly) best and ties keep the higher threshold.
    const costly = chooseThreshold(y, p, 'value', { tp: 0, fp: -1, fn: 0, tn: 0 });
    expect(confusionAt(y, p, costly.threshold).tp + confusionAt(y, p, costly.threshold).fp).toBe(0);
    expect(costly.achieved).toBe(0);
  });

  it('moves the threshold down when missing a positive gets more expensive', () => {
    const cheapMiss = chooseThreshold(y, p, 'value', { tp: 10, fp: -5, fn: 0, tn: 0 }).threshold;
    const dearMiss = chooseThreshold(y, p, 'value', { tp: 10, fp: -5, fn: -100, tn: 0 }).threshold;
    expect(dearMiss).toBeLessThan(cheapMiss);
  });
});

describe('curves', () => {
  const { y, p } = synthetic(2000, 3, 0.7);
  it('ROC runs from (0,0) to (1,1); its trapezoid area matches rocAuc', () => {
    const roc = rocCurve(y, p);
    expect(roc[0]).toEqual({ x: 0, y: 0 });
    expect(roc[roc.length - 1]).toEqual({ x: 1, y: 1 });
    let area = 0;
    for (let i = 1; i < roc.length; i++) area += ((roc[i]!.x - roc[i - 1]!.x) * (roc[i]!.y + roc[i - 1]!.y)) / 2;
    expect(area).toBeCloseTo(rocAuc(y, p), 2);
    expect(prCurve(y, p).at(-1)!.x).toBe(1);
  });
  it('thins as the whole curve thinned would, without building it', () => {
    for (const curve of [rocCurve, prCurve]) {
      const full = curve(y, p, Infinity);
      expect(full.length).toBeGreaterThan(400);
      expect(curve(y, p)).toEqual(thin(full, 400));
      expect(curve(y, p, 7)).toEqual(thin(full, 7));
    }
    expect(rocCurve(new Uint8Array(0), new Float64Array(0))).toEqual([{ x: 0, y: 0 }]);
    expect(prCurve(new Uint8Array(0), new Float64Array(0))).toEqual([]);
  });
  it('lift deciles cover every row and cumulative gain reaches 1', () => {
    const d = liftByDecile(y, p);
    expect(d.reduce((s, x) => s + x.count, 0)).toBe(2000);
    expect(d.at(-1)!.cumulativeGain).toBeCloseTo(1, 12);
    expect(d[0]!.lift).toBeGreaterThan(1.5);
    expect(d[0]!.minScore).toBeGreaterThanOrEqual(d[1]!.minScore);
    const h = scoreHistogram(y, p, 10);
    expect(h.positive.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
  it('SVG output escapes text and is one svg element', () => {
    const svg = lineChart({
      kind: 'x',
      title: 'a < b & "c"',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: '<s>',
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).not.toContain('<s>');
  });
});

describe('learningCurve', () => {
  it('refits on growing subsets: validation loss beats the constant model and the points grow in size', () => {
    const rows = makeMasterRows(1500, 9);
    const train = rows.filter((r) => r.split === 'train');
    const val = rows.filter((r) => r.split !== 'train');
    const pts = learningCurve(train, val, ['available_ratio', 'is_essential', 'merchant_group', 'amount'], TARGET, {
      fractions: [0.1, 0.5, 1],
      epochs: 80,
      l2: 1e-3,
      seed: 1,
    });
    expect(pts.map((x) => x.size)).toEqual([
      Math.round(0.1 * train.length),
      Math.round(0.5 * train.length),
      train.length,
    ]);
    const rate = val.filter((r) => r[TARGET]).length / val.length;
    const constantLoss = -(rate * Math.log(rate) + (1 - rate) * Math.log(1 - rate));
    expect(pts.at(-1)!.validation_log_loss).toBeLessThan(constantLoss * 0.8);
    expect(pts.at(-1)!.validation_roc_auc).toBeGreaterThan(0.8);
  });
});
