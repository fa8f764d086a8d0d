import { frameFromRows } from './frame';
import { computeTarget, roundHalfEven } from './target';

const params = { threshold: 0.2, essential_groups: ['SERVIÇO', 'SUPERMERCADOS'] };
const names = ['available_ratio', 'credit_limit', 'merchant_group'];

describe('computeTarget', () => {
  it('compares the ratio unrounded, ignores essential groups and excludes rows without a usable ratio', () => {
    const frame = frameFromRows(
      [
        { available_ratio: 0.1, credit_limit: 1000, merchant_group: 'VESTUARIO' }, // positive
        { available_ratio: 0.199, credit_limit: 1000, merchant_group: 'VESTUARIO' }, // positive; rounds to 20 → prototype says no
        { available_ratio: 0.2, credit_limit: 1000, merchant_group: 'VESTUARIO' }, // not below the threshold
        { available_ratio: 0.05, credit_limit: 1000, merchant_group: 'SERVIÇO' }, // essential
        { available_ratio: null, credit_limit: 0, merchant_group: 'VESTUARIO' }, // no limit
        { available_ratio: null, credit_limit: 1000, merchant_group: 'VESTUARIO' }, // ratio missing
      ],
      names,
    );
    const t = computeTarget(frame, params);
    expect(Array.from(t.values)).toEqual([1, 1, 0, 0, -1, -1]);
    expect(t.positives).toBe(2);
    expect(t.negatives).toBe(2);
    expect(t.excluded).toEqual({ total: 2, missing_ratio: 1, no_credit_limit: 1 });
    expect(t.positives_rounded_rule).toBe(1);
  });

  it('matches essential groups case- and padding-insensitively', () => {
    const frame = frameFromRows([{ available_ratio: 0.01, credit_limit: 10, merchant_group: ' supermercados ' }], names);
    expect(computeTarget(frame, params).positives).toBe(0);
  });

  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, 19.5, 20.5, 19.4].map(roundHalfEven)).toEqual([0, 2, 2, 20, 20, 19]);
  });
});
