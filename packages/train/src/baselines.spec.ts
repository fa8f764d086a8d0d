import { featureScore } from '@bolsillo/model';
import { fitFeatureScorer } from './baselines';
import { planCv } from './cv';

describe('single-feature baselines', () => {
  // 200 rows: ratio r = i/200; positives are most of the rows with r < 0.2 and few above.
  const rows = Array.from({ length: 200 }, (_, i) => ({ r: i / 200, n: i % 3 }));
  const y = rows.map((row, i) => (row.r < 0.2 ? (i % 5 === 0 ? 0 : 1) : i % 20 === 0 ? 1 : 0));

  it('a binary rule reproduces the two groups’ rates', () => {
    const m = fitFeatureScorer(rows, y, { feature: 'r', direction: 'lower', threshold: 0.2 });
    const hit = y.filter((_, i) => rows[i]!.r < 0.2);
    const miss = y.filter((_, i) => rows[i]!.r >= 0.2);
    const rate = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(featureScore(m, { r: 0.1 })).toBeCloseTo(rate(hit), 1);
    expect(featureScore(m, { r: 0.5 })).toBeCloseTo(rate(miss), 1);
    // A missing value falls back to the prevalence (no missing rows in training).
    expect(featureScore(m, { r: null })).toBeCloseTo(rate(y), 6);
  });

  it('a binary rule fits its two rates on a large sample too (no iteration to overshoot)', () => {
    // 50,000 rows, 13% hits of which 2/3 positive, 3/87 positive among the misses (as at 1M generated rows).
    const big = Array.from({ length: 50_000 }, (_, i) => ({ r: i % 100 < 13 ? 0.1 : 0.5 }));
    const yb = big.map((row, i) => (row.r < 0.2 ? (i % 3 === 0 ? 0 : 1) : i % 25 === 0 ? 1 : 0));
    const m = fitFeatureScorer(big, yb, { feature: 'r', direction: 'lower', threshold: 0.2 });
    expect(Number.isFinite(m.a) && Number.isFinite(m.b)).toBe(true);
    expect(featureScore(m, { r: 0.1 })).toBeCloseTo(2 / 3, 2);
    expect(featureScore(m, { r: 0.5 })).toBeCloseTo(3 / 87, 3);
  });

  it('auto chooses the direction on the fitting rows; a fixed direction never flips', () => {
    const auto = fitFeatureScorer(rows, y, { feature: 'r', direction: 'auto', threshold: null });
    expect(auto.direction).toBe('lower');
    expect(auto.a).toBeGreaterThan(0);
    expect(featureScore(auto, { r: 0.05 })).toBeGreaterThan(featureScore(auto, { r: 0.6 }));
    const wrong = fitFeatureScorer(rows, y, { feature: 'r', direction: 'higher', threshold: null });
    expect(wrong.direction).toBe('higher');
    expect(wrong.a).toBe(0);
    expect(featureScore(wrong, { r: 0.05 })).toBeCloseTo(featureScore(wrong, { r: 0.6 }), 12);
  });
});

describe('CV plans', () => {
  const groups = Array.from({ length: 600 }, (_, i) => `c${i % 60}`);
  const y = groups.map((g, i) => (Number(g.slice(1)) % 4 === 0 && Math.floor(i / 60) % 3 === 0 ? 1 : 0));

  it('leaves one customer out when customers are few', () => {
    const few = groups.filter((g) => Number(g.slice(1)) < 12);
    const plan = planCv(
      few,
      y.slice(0, few.length),
      new Int32Array(few.length),
      { scheme: 'auto', loco_below_customers: 50 },
      1,
    );
    expect(plan.scheme).toBe('loco');
    expect(plan.repeats).toHaveLength(1);
    expect(new Set(plan.repeats[0])).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)));
  });

  it('repeats grouped k-fold with whole customers per fold and positives spread over folds', () => {
    const plan = planCv(
      groups,
      y,
      new Int32Array(groups.length),
      { scheme: 'auto', folds: 5, repeats: 3, loco_below_customers: 50 },
      1,
    );
    expect(plan.scheme).toBe('group_kfold');
    expect(plan.repeats).toHaveLength(3);
    expect(plan.positive_customers).toBe(15);
    for (const a of plan.repeats) {
      const foldOf = new Map<string, number>();
      groups.forEach((g, i) => {
        expect(foldOf.get(g) ?? a[i]).toBe(a[i]);
        foldOf.set(g, a[i]!);
      });
      const posPerFold = [0, 1, 2, 3, 4].map((f) => y.filter((v, i) => v && a[i] === f).length);
      expect(Math.max(...posPerFold) - Math.min(...posPerFold)).toBeLessThanOrEqual(Math.max(...posPerFold) / 3 + 4);
    }
    expect(Array.from(plan.repeats[0]!)).not.toEqual(Array.from(plan.repeats[1]!));
    expect(
      planCv(groups, y, new Int32Array(groups.length), { folds: 5, repeats: 3 }, 1).repeats.map((a) => Array.from(a)),
    ).toEqual(plan.repeats.map((a) => Array.from(a)));
  });
});
