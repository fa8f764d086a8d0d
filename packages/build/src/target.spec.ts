import { frameFromRows } from './frame';
import { computeFlag, forecastTarget, roundHalfEven } from './target';

const params = { threshold: 0.2, essential_groups: ['SERVIÇO', 'SUPERMERCADOS'] };
const names = ['available_ratio', 'credit_limit', 'merchant_group'];

describe('computeFlag', () => {
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
    const t = computeFlag(frame, params);
    expect(Array.from(t.values)).toEqual([1, 1, 0, 0, -1, -1]);
    expect(t.flagged).toBe(2);
    expect(t.not_flagged).toBe(2);
    expect(t.excluded).toEqual({ total: 2, missing_ratio: 1, no_credit_limit: 1 });
    expect(t.positives_rounded_rule).toBe(1);
  });

  it('matches essential groups case- and padding-insensitively', () => {
    const frame = frameFromRows(
      [{ available_ratio: 0.01, credit_limit: 10, merchant_group: ' supermercados ' }],
      names,
    );
    expect(computeFlag(frame, params).flagged).toBe(0);
  });

  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, 19.5, 20.5, 19.4].map(roundHalfEven)).toEqual([0, 2, 2, 20, 20, 19]);
  });
});

describe('forecastTarget', () => {
  const names = ['customer_key', 'date', 'day_count'];
  // Customer a: rows on 05-01 (two, the second is the snapshot), 05-03, 05-09 and 05-20; flagged rows are marked.
  // Customer b: one row on 05-18. The data ends on 05-20, so with H = 7 snapshots after 05-13 are censored.
  const rows = [
    { customer_key: 'a', date: '2020-05-01', day_count: 1 },
    { customer_key: 'a', date: '2020-05-01', day_count: 2 },
    { customer_key: 'a', date: '2020-05-03', day_count: 1 },
    { customer_key: 'a', date: '2020-05-09', day_count: 1 }, // flagged
    { customer_key: 'b', date: '2020-05-18', day_count: 1 },
    { customer_key: 'a', date: '2020-05-20', day_count: 1 }, // flagged
  ];
  const flags = Int8Array.from([1, 0, 0, 1, 0, 1]);

  it('labels each customer-day snapshot by a flagged row in the next H days and censors the last H days', () => {
    const t = forecastTarget(frameFromRows(rows, names), flags, 7);
    // 05-01: next flagged 05-09 is 8 days later (outside); 05-03: 05-09 within 7 days; 05-09: the same
    // day's own flag does not count, 05-20 is 11 days later; 05-18 and 05-20 are censored.
    expect(Array.from(t.values)).toEqual([-1, 0, 1, 0, -1, -1]);
    expect(t).toMatchObject({
      snapshots: 5,
      censored: 2,
      positives: 1,
      negatives: 2,
      data_end: '2020-05-20',
      horizon_days: 7,
    });
  });

  it('a longer horizon sees further ahead and censors more days', () => {
    const longer = forecastTarget(frameFromRows(rows, names), flags, 8);
    // With H = 8, 05-01 now sees the 05-09 flag; 05-13 and later are censored.
    expect(Array.from(longer.values)).toEqual([-1, 1, 1, 0, -1, -1]);
  });
});
