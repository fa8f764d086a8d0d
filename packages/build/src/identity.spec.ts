import { averagePrecision, seededRandom } from '@bolsillo/core';
import { frameFromRows, type Cell } from './frame';
import { customerShare, fitAdditiveLogit, measureIdentityProxies, type IdentityParams } from './identity';
import { selectFeatures } from './selection';

/**
 * 60 customers with their own propensity to revenge-spend. `credit_limit` carries that propensity
 * (a customer attribute that generalises to new customers), `age` is a random number per customer
 * and `sex` alternates independently of it (both can only single customers out), `amount` is a
 * row-level signal.
 */
function dataset(seed = 3) {
  const rand = seededRandom(seed);
  const rows: Record<string, Cell>[] = [];
  const y: number[] = [];
  for (let c = 0; c < 60; c++) {
    // Spread evenly over customers; even and odd customers (the two sexes) get the same spread.
    const propensity = -3 + (4 * ((c * 37) % 60)) / 60;
    const age = 18 + Math.floor(rand() * 60);
    for (let k = 0; k < 50; k++) {
      const amount = rand() * 100;
      const logit = propensity + (amount - 50) / 25;
      rows.push({
        customer_key: `c${c}`,
        credit_limit: Math.round(1000 * (propensity + 3)),
        age,
        amount,
        sex: c % 2 ? 'F' : 'M',
        is_weekend: k % 7 < 2,
      });
      y.push(rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
    }
  }
  const frame = frameFromRows(rows, ['customer_key', 'credit_limit', 'age', 'amount', 'sex', 'is_weekend']);
  return { frame, y: Int8Array.from(y), rows: Uint32Array.from(rows.keys()) };
}

const params: IdentityParams = {
  min_customer_share: 0.8,
  max_rows: 100_000,
  folds: 5,
  repeats: 2,
  min_gain: 0,
  min_gain_z: 1,
  bins: 10,
  l2: 1,
  passes: 10,
  seed: 9,
};

describe('customerShare', () => {
  const { frame, rows } = dataset();
  const customers = Int32Array.from(rows, (i) => Math.floor(i / 50));

  it('is 1 for customer attributes and near 0 for row-level values', () => {
    expect(customerShare(frame, 'age', customers, rows)).toEqual({
      measure: 'eta_squared',
      share: expect.closeTo(1, 9),
    });
    expect(customerShare(frame, 'sex', customers, rows)).toEqual({ measure: 'lambda', share: 1 });
    expect(customerShare(frame, 'amount', customers, rows).share).toBeLessThan(0.1);
    // Weekends are rare for every customer alike: lambda does not mistake that for an attribute.
    expect(customerShare(frame, 'is_weekend', customers, rows)).toEqual({ measure: 'lambda', share: 0 });
  });
});

describe('fitAdditiveLogit', () => {
  it('learns a monotone signal well above chance on rows it did not see', () => {
    const { frame, y } = dataset();
    const codes = [
      Int32Array.from({ length: frame.length }, (_, i) =>
        Math.min(9, Math.floor((frame.columns.amount!.get(i) as number) / 10)),
      ),
    ];
    const fit = Uint32Array.from({ length: 2000 }, (_, k) => k);
    const held = Uint32Array.from({ length: 1000 }, (_, k) => 2000 + k);
    const scores = fitAdditiveLogit({ codes, levels: [10] }, [0], y, fit, held, { l2: 1, passes: 10 });
    const labels = Int8Array.from(held, (i) => y[i]!);
    const prevalence = labels.reduce((a, b) => a + b, 0) / labels.length;
    expect(averagePrecision(labels, scores)).toBeGreaterThan(prevalence + 0.15);
    // Higher amounts score higher (the generating slope is positive).
    expect(scores[held.findIndex((i) => codes[0]![i] === 9)]!).toBeGreaterThan(
      scores[held.findIndex((i) => codes[0]![i] === 0)]!,
    );
  });
});

describe('measureIdentityProxies', () => {
  const { frame, y, rows } = dataset();

  it('drops the attribute that only identifies customers and keeps the one that generalises', () => {
    const r = measureIdentityProxies(frame, y, rows, ['amount', 'credit_limit', 'age', 'sex'], params);
    const by = new Map(r.candidates.map((c) => [c.feature, c]));
    expect(by.get('amount')!.tested).toBe(false);
    expect(by.get('amount')!.action).toBeNull();
    expect(by.get('age')!.action).toBe('drop');
    expect(by.get('sex')!.action).toBe('drop');
    expect(by.get('credit_limit')!).toMatchObject({ tested: true, action: 'keep' });
    expect(by.get('credit_limit')!.delta_pr_auc!).toBeGreaterThan(0.02);
    expect(r.dropped.sort()).toEqual(['age', 'sex']);
    expect(r).toMatchObject({ rows: 3000, customers: 60, skipped: null });
    // Every round records the score and each remaining candidate's delta; the last drops nothing.
    expect(r.rounds.at(-1)!.dropped).toBeNull();
    expect(Object.keys(r.rounds[0]!.deltas).sort()).toEqual(['age', 'credit_limit', 'sex']);
  });

  it('is reproducible for a seed and samples whole customers up to the row budget', () => {
    const a = measureIdentityProxies(frame, y, rows, ['amount', 'credit_limit', 'age'], { ...params, max_rows: 1000 });
    const b = measureIdentityProxies(frame, y, rows, ['amount', 'credit_limit', 'age'], { ...params, max_rows: 1000 });
    expect(b).toEqual(a);
    expect(a.rows).toBe(1000);
    expect(a.customers).toBe(20);
  });

  it('says why when there are too few customers to measure, and keeps the candidates', () => {
    const few = Uint32Array.from({ length: 150 }, (_, k) => k); // three customers
    const r = measureIdentityProxies(frame, y, few, ['credit_limit', 'age'], params);
    expect(r.skipped).toMatch(/too few customers/);
    expect(r.dropped).toEqual([]);
  });

  it('feeds selection: dropped proxies leave the feature list with the measured reason', () => {
    const sel = selectFeatures(frame, y, rows, ['amount', 'credit_limit', 'age', 'sex'], {
      near_constant_share: 0.99,
      max_abs_correlation: 0.98,
      mi_bins: 10,
      identity: params,
    });
    expect(sel.features.sort()).toEqual(['amount', 'credit_limit']);
    const age = sel.decisions.find((d) => d.feature === 'age')!;
    expect(age.reason).toMatch(
      /^identity proxy \(eta² 1\.000 by customer\): removing it changes grouped-CV PR-AUC by [+−]\d\.\d{4}/,
    );
    expect(sel.decisions.find((d) => d.feature === 'credit_limit')!.reason).toMatch(
      /identity-proxy candidate .* kept: removing it costs 0\.\d{4}/,
    );
    expect(sel.identity!.dropped.sort()).toEqual(['age', 'sex']);
  });
});
