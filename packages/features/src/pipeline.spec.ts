import { DEFAULT_FEATURE_PARAMS, sha256 } from '@bolsillo/core';
import type { FeatureRow, Transaction } from '@bolsillo/schema';
import { syntheticTransactions } from './fixtures.test-util';
import { computeFeatureRows, planIncremental, type FeatureStoreManifest } from './pipeline';

const A = sha256('customer-a');
const B = sha256('customer-b');

function t(
  line: number,
  customer: string,
  date: string,
  amount: number | null,
  group: string,
  available: number,
): Transaction {
  return {
    txn_id: `h.csv#${line}`,
    customer_key: customer,
    account_cohort: '201801',
    city: 'SANTOS',
    state: 'SP',
    age: 40,
    sex: 'M',
    credit_limit: 1000,
    available_limit: available,
    date,
    amount,
    merchant_group: group,
    merchant_city: 'SANTOS',
    merchant_country: 'BR',
    source_file: 'h.csv',
    source_line: line,
  };
}

// Customer A's history (history order: a1, a2, a4, a3, a5 — a4 precedes a3 on the same day by source line).
// Customer B's rows are interleaved to prove that histories do not leak between customers.
const HISTORY = [
  t(2, A, '2019-05-01', 200, 'VESTUARIO', 900), // a1
  t(3, A, '2019-05-25', null, 'SERVIÇO', 800), // a2
  t(5, A, '2019-05-31', 100, 'SERVIÇO', 700), // a3
  t(4, A, '2019-05-31', 50, 'VESTUARIO', 600), // a4
  t(6, A, '2019-06-06', 30, 'FARMACIAS', 100), // a5
  t(7, B, '2019-05-31', 999, 'VESTUARIO', 10),
  t(8, B, '2019-06-06', 1, 'VESTUARIO', 20),
];

type History = Pick<
  FeatureRow,
  | 'hist_count_7d'
  | 'hist_sum_7d'
  | 'hist_count_30d'
  | 'hist_sum_30d'
  | 'hist_nonessential_share_30d'
  | 'days_since_prev'
  | 'amount_to_running_mean'
  | 'day_min_available_ratio'
  | 'day_count'
  | 'revenge_count_7d'
  | 'days_since_revenge'
>;

const none = { revenge_count_7d: 0, days_since_revenge: null };
// Computed by hand from the definitions in the kernel's TSDoc: every history feature is as of just
// after the row (7-day window: D−7 < date ≤ D; 30-day: D−30 < date ≤ D; the row and the customer's
// earlier rows of the day included). Flagged: ratio < 0.2 at a non-essential group.
const EXPECTED: Record<string, History> = {
  'h.csv#2': {
    hist_count_7d: 1,
    hist_sum_7d: 200,
    hist_count_30d: 1,
    hist_sum_30d: 200,
    hist_nonessential_share_30d: 1,
    days_since_prev: null,
    amount_to_running_mean: null,
    day_min_available_ratio: 0.9,
    day_count: 1,
    ...none,
  },
  // a2: a1 is 24 days earlier (30-day window only); a2's amount is missing (counted, sums 0).
  'h.csv#3': {
    hist_count_7d: 1,
    hist_sum_7d: 0,
    hist_count_30d: 2,
    hist_sum_30d: 200,
    hist_nonessential_share_30d: 1,
    days_since_prev: 24,
    amount_to_running_mean: null,
    day_min_available_ratio: 0.8,
    day_count: 1,
    ...none,
  },
  // a4: a1 is exactly 30 days earlier, outside the window; a2 and a4 in both; 50 / mean(200).
  'h.csv#4': {
    hist_count_7d: 2,
    hist_sum_7d: 50,
    hist_count_30d: 2,
    hist_sum_30d: 50,
    hist_nonessential_share_30d: 1,
    days_since_prev: 6,
    amount_to_running_mean: 0.25,
    day_min_available_ratio: 0.6,
    day_count: 1,
    ...none,
  },
  // a3: same day as a4, later line: the day so far is a4 and a3 (lowest ratio a4's 0.6); mean (200+50)/2.
  'h.csv#5': {
    hist_count_7d: 3,
    hist_sum_7d: 150,
    hist_count_30d: 3,
    hist_sum_30d: 150,
    hist_nonessential_share_30d: 1 / 3,
    days_since_prev: 0,
    amount_to_running_mean: 0.8,
    day_min_available_ratio: 0.6,
    day_count: 2,
    ...none,
  },
  // a5: 7 days 05-31..06-06 hold a4, a3, a5; 30 days a2, a4, a3, a5; mean (200+50+100)/3; FARMACIAS is essential: not flagged.
  'h.csv#6': {
    hist_count_7d: 3,
    hist_sum_7d: 180,
    hist_count_30d: 4,
    hist_sum_30d: 180,
    hist_nonessential_share_30d: 50 / 180,
    days_since_prev: 6,
    amount_to_running_mean: 30 / (350 / 3),
    day_min_available_ratio: 0.1,
    day_count: 1,
    ...none,
  },
  'h.csv#7': {
    hist_count_7d: 1,
    hist_sum_7d: 999,
    hist_count_30d: 1,
    hist_sum_30d: 999,
    hist_nonessential_share_30d: 1,
    days_since_prev: null,
    amount_to_running_mean: null,
    day_min_available_ratio: 0.01,
    day_count: 1,
    revenge_count_7d: 1,
    days_since_revenge: 0,
  },
  'h.csv#8': {
    hist_count_7d: 2,
    hist_sum_7d: 1000,
    hist_count_30d: 2,
    hist_sum_30d: 1000,
    hist_nonessential_share_30d: 1,
    days_since_prev: 6,
    amount_to_running_mean: 1 / 999,
    day_min_available_ratio: 0.02,
    day_count: 1,
    revenge_count_7d: 2,
    days_since_revenge: 0,
  },
};

function byId(rows: readonly FeatureRow[]): Map<string, FeatureRow> {
  return new Map(rows.map((r) => [r.txn_id, r]));
}

describe('computeFeatureRows (point in time)', () => {
  it('matches a hand-computed customer history for every history feature', () => {
    const rows = byId(computeFeatureRows(HISTORY, new Map(), DEFAULT_FEATURE_PARAMS));
    for (const [id, expected] of Object.entries(EXPECTED)) {
      const row = rows.get(id)!;
      for (const [name, value] of Object.entries(expected)) {
        const actual = row[name as keyof History];
        if (value === null) expect([id, name, actual]).toEqual([id, name, null]);
        else expect([id, name, actual as number]).toEqual([id, name, expect.closeTo(value, 12)]);
      }
    }
  });

  it('returns rows in history order regardless of input order', () => {
    const rows = computeFeatureRows([...HISTORY].reverse(), new Map(), DEFAULT_FEATURE_PARAMS);
    expect(rows.map((r) => r.txn_id)).toEqual([
      'h.csv#2',
      'h.csv#3',
      'h.csv#4',
      'h.csv#5',
      'h.csv#7',
      'h.csv#6',
      'h.csv#8',
    ]);
  });

  it('gives identical features for any shuffle of the input', () => {
    const txns = syntheticTransactions(600, 11);
    const expected = computeFeatureRows(txns, new Map(), DEFAULT_FEATURE_PARAMS);
    let seed = 3;
    for (let k = 0; k < 3; k++) {
      const shuffled = [...txns];
      for (let i = shuffled.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const j = seed % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      expect(computeFeatureRows(shuffled, new Map(), DEFAULT_FEATURE_PARAMS)).toEqual(expected);
    }
  });

  it('leaves features up to day d unchanged when the data is truncated after d', () => {
    const txns = syntheticTransactions(600, 12);
    const full = computeFeatureRows(txns, new Map(), DEFAULT_FEATURE_PARAMS);
    for (const d of ['2019-04-10', '2019-05-15', '2019-06-20']) {
      const truncated = computeFeatureRows(
        txns.filter((x) => x.date <= d),
        new Map(),
        DEFAULT_FEATURE_PARAMS,
      );
      expect(truncated.length).toBeGreaterThan(0);
      expect(truncated).toEqual(full.filter((r) => r.date <= d));
    }
  });
});

describe('planIncremental', () => {
  const manifest = (inputs: Record<string, string>): FeatureStoreManifest => ({
    version: 1,
    config_hash: 'c',
    inputs,
    as_of: '2019-01-03',
    updated_at: 'x',
  });
  const outputs = new Set(['2019-01-01', '2019-01-02', '2019-01-03']);
  const inputs = { '2019-01-01': 'a', '2019-01-02': 'b', '2019-01-03': 'c' };

  it('recomputes everything without a previous run or after a config change', () => {
    expect(planIncremental(null, inputs, 'c', new Set()).from).toBe('2019-01-01');
    expect(planIncremental(manifest(inputs), inputs, 'other', outputs).from).toBe('2019-01-01');
  });

  it('does nothing when inputs are unchanged, and recomputes from the earliest change onward', () => {
    expect(planIncremental(manifest(inputs), inputs, 'c', outputs).from).toBeNull();
    expect(planIncremental(manifest(inputs), { ...inputs, '2019-01-02': 'B' }, 'c', outputs).from).toBe('2019-01-02');
    expect(planIncremental(manifest(inputs), { ...inputs, '2019-01-04': 'd' }, 'c', outputs).from).toBe('2019-01-04');
    expect(planIncremental(manifest(inputs), inputs, 'c', new Set(['2019-01-01', '2019-01-03'])).from).toBe(
      '2019-01-02',
    );
  });

  it('treats a removed input partition as a change of every later day', () => {
    const { '2019-01-02': _gone, ...rest } = inputs;
    const plan = planIncremental(manifest(inputs), rest, 'c', outputs);
    expect(plan).toMatchObject({ from: '2019-01-03', removed: ['2019-01-02'] });
  });
});
