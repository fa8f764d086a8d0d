import { assignSplits } from './splits';
import type { BuildParams } from './params';

function dataset(customers: number, perCustomer: number) {
  const group: string[] = [];
  const date: string[] = [];
  const y: number[] = [];
  for (let c = 0; c < customers; c++) {
    for (let k = 0; k < perCustomer + (c % 5) * 3; k++) {
      group.push(`c${c}`);
      date.push(`2020-01-${String(1 + (k % 28)).padStart(2, '0')}`);
      y.push(c % 4 === 0 && k % 2 === 0 ? 1 : 0);
    }
  }
  return { group, date, y: Int8Array.from(y) };
}

const params: BuildParams['split'] = { strategy: 'group', seed: 3, sizes: { calibration: 0.1, test: 0.2, holdout: 0.15 }, folds: 4 };

describe('assignSplits', () => {
  const { group, date, y } = dataset(60, 20);

  it('keeps every customer in one split and one fold, with sizes near the request', () => {
    const { split, fold, summary } = assignSplits(group, date, y, params);
    const where = new Map<string, string>();
    group.forEach((g, i) => {
      const tag = `${split[i]}/${fold[i]}`;
      expect(where.get(g) ?? tag).toBe(tag);
      where.set(g, tag);
      expect(fold[i]! >= 0).toBe(split[i] === 'train');
    });
    for (const s of ['train', 'calibration', 'test', 'holdout'] as const) {
      expect(Math.abs(summary.splits[s].share - summary.requested[s])).toBeLessThan(0.05);
      expect(summary.splits[s].positives).toBeGreaterThan(0);
    }
    expect(summary.folds.every((f) => f.rows > 0 && f.positives > 0)).toBe(true);
    const overall = y.reduce((a, b) => a + b, 0) / y.length;
    for (const s of Object.values(summary.splits)) expect(Math.abs(s.prevalence - overall)).toBeLessThan(0.06);
  });

  it('is reproducible for a seed and changes with the seed', () => {
    const a = assignSplits(group, date, y, params);
    const b = assignSplits(group, date, y, params);
    const c = assignSplits(group, date, y, { ...params, seed: 4 });
    expect(b.split).toEqual(a.split);
    expect(Array.from(b.fold)).toEqual(Array.from(a.fold));
    expect(c.split).not.toEqual(a.split);
  });

  it('time strategy trains on earlier dates and tests on later ones, never splitting a day', () => {
    const { split, fold, summary } = assignSplits(group, date, y, { ...params, strategy: 'time' });
    const s = summary.splits;
    expect(s.train.date_max! < s.calibration.date_min!).toBe(true);
    expect(s.calibration.date_max! < s.test.date_min!).toBe(true);
    expect(s.test.date_max! < s.holdout.date_min!).toBe(true);
    // Folds stay group-aware inside train.
    const foldOf = new Map<string, number>();
    group.forEach((g, i) => {
      if (split[i] !== 'train') return;
      expect(foldOf.get(g) ?? fold[i]).toBe(fold[i]);
      foldOf.set(g, fold[i]!);
    });
  });

  it('rejects sizes that leave nothing to train on', () => {
    expect(() => assignSplits(group, date, y, { ...params, sizes: { calibration: 0.5, test: 0.3, holdout: 0.2 } })).toThrow(/no train share/);
  });
});
