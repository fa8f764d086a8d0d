import { formatTick, niceTicks } from './chart-ticks';

describe('chart ticks', () => {
  const labels = (lo: number, hi: number) => {
    const t = niceTicks(lo, hi);
    return t.values.map((v) => formatTick(v, t.step));
  };

  it('labels round values with the decimals the step needs, never trailing zeros', () => {
    expect(labels(0, 1)).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    expect(labels(0.946, 1)).toEqual(['0.96', '0.98', '1']);
    expect(labels(90, 130)).toEqual(['90', '100', '110', '120', '130']);
    expect(labels(0, 1700)).toEqual(['0', '500', '1,000', '1,500']);
    expect(labels(0, 0.0006)).toEqual(['0', '0.0002', '0.0004', '0.0006']);
    expect(labels(-1, 1)).toEqual(['-1', '-0.5', '0', '0.5', '1']);
    expect(labels(97.4, 97.6)).toEqual(['97.4', '97.45', '97.5', '97.55', '97.6']);
  });

  it('copes with a single value and non-finite bounds', () => {
    expect(niceTicks(3, 3).values).toEqual([3]);
    expect(niceTicks(Number.NaN, 1).values).toEqual([]);
  });
});
