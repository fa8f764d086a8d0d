import { seededRandom } from '@bolsillo/core';
import { computeDrift, profileFromColumns, DEFAULT_DRIFT_PARAMS } from './drift';
import { chiSquareCritical, chiSquareSurvival, designEffect, histogram, jensenShannon, ksPValue, psi } from './stats';

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const CATS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'];
function sample(n: number, seed: number, shift = 0): Record<string, unknown[]> {
  const r = seededRandom(seed);
  const out: Record<string, unknown[]> = { amount: [], age: [], group: [], flag: [], ratio: [] };
  for (let i = 0; i < n; i++) {
    out.amount!.push(Math.exp(4 + normal(r)) * (1 + shift));
    out.age!.push(Math.round(40 + 10 * normal(r)));
    out.group!.push(CATS[Math.floor(r() ** 2 * CATS.length)]);
    out.flag!.push(r() < 0.1);
    out.ratio!.push(r() < 0.05 ? null : r());
  }
  return out;
}
const KINDS = {
  amount: 'numeric',
  age: 'numeric',
  group: 'categorical',
  flag: 'categorical',
  ratio: 'numeric',
} as const;
const PARAMS = { ...DEFAULT_DRIFT_PARAMS, exclude: [] };

describe('drift statistics', () => {
  it('chi-square tail and quantile agree with tables', () => {
    expect(chiSquareCritical(1, 0.05)).toBeCloseTo(3.841, 2);
    expect(chiSquareCritical(10, 0.01)).toBeCloseTo(23.209, 2);
    expect(chiSquareSurvival(18.307, 10)).toBeCloseTo(0.05, 3);
  });

  it('KS p-value is large for small gaps and tiny for big ones', () => {
    expect(ksPValue(0.01, 1000, 1000)).toBeGreaterThan(0.99);
    expect(ksPValue(0.2, 1000, 1000)).toBeLessThan(1e-10);
  });

  it('bins follow build: [e_i, e_i+1) with open ends', () => {
    expect(histogram([0, 1, 2, 3], [0.5, 1.5, 1.7, NaN, 10, -4, 3])).toEqual([2, 2, 2]);
  });

  it('PSI and Jensen–Shannon are zero for identical distributions and grow with a shift', () => {
    expect(psi([10, 20, 30], [20, 40, 60])).toBeCloseTo(0, 3);
    expect(jensenShannon([10, 20, 30], [1, 2, 3])).toBeCloseTo(0, 10);
    expect(psi([10, 20, 30], [30, 20, 10])).toBeGreaterThan(0.2);
  });

  it('design effect is about 1 for independent rows and about the cluster size for customer-level values', () => {
    const r = seededRandom(3);
    const keys = Array.from({ length: 2000 }, (_, i) => `c${i % 40}`);
    const iid = keys.map(() => normal(r));
    const perCustomer = new Map<string, number>();
    const constant = keys.map((k) => perCustomer.get(k) ?? (perCustomer.set(k, normal(r)), perCustomer.get(k)!));
    expect(designEffect(iid, keys)).toBeLessThan(1.5);
    expect(designEffect(constant, keys)).toBeCloseTo(50, 0);
  });

  it('no false alarm on fresh samples of the reference distribution, at any size', () => {
    const reference = profileFromColumns(sample(5000, 1), KINDS);
    let alarms = 0;
    for (const n of [60, 400, 2000, 8000]) {
      for (let seed = 2; seed < 9; seed++) {
        const d = computeDrift(reference, sample(n, seed), PARAMS);
        alarms += d.driftedCount + d.psiAboveCount;
      }
    }
    expect(alarms).toBe(0);
  });

  it('a shifted feature is flagged, by KS on small samples and by Wasserstein on large ones', () => {
    const reference = profileFromColumns(sample(5000, 1), KINDS);
    const small = computeDrift(reference, sample(400, 99, 0.5), PARAMS);
    const large = computeDrift(reference, sample(5000, 99, 0.5), PARAMS);
    expect(small.features.filter((f) => f.drifted).map((f) => [f.feature, f.test])).toEqual([['amount', 'ks']]);
    expect(large.features.filter((f) => f.drifted).map((f) => [f.feature, f.test])).toEqual([
      ['amount', 'wasserstein'],
    ]);
    expect(large.features.find((f) => f.feature === 'group')!.test).toBe('jensen_shannon');
    expect(small.features.find((f) => f.feature === 'group')!.test).toBe('chi_square');
  });
});
