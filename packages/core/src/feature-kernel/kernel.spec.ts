import { seededRandom } from '../metrics';
import { epochDay, isoFromEpochDay } from './calendar';
import { FeatureColumns } from './feature-columns';
import {
  computeBatchInto,
  computeFeatures,
  CustomerHistory,
  DEFAULT_FEATURE_PARAMS,
  emptyCustomerState,
  updateCustomerState,
  type CustomerState,
  type FeatureInput,
  type KernelColumns,
} from './kernel';

const base: FeatureInput = {
  customer_key: 'a'.repeat(64),
  account_cohort: '201405',
  city: 'CAMPO LIMPO PAULISTA',
  state: 'SP',
  age: 37,
  sex: 'F',
  credit_limit: 1000,
  available_limit: 500,
  date: '2019-12-04',
  amount: 31,
  merchant_group: 'SERVIÇO',
  merchant_city: 'SAO PAULO',
  merchant_country: 'BR',
};

const txn = (over: Partial<FeatureInput>): FeatureInput => ({ ...base, ...over });

describe('computeFeatures: transaction features', () => {
  it('derives amount, calendar, merchant and profile features from the row', () => {
    const f = computeFeatures(base, emptyCustomerState(), DEFAULT_FEATURE_PARAMS);
    expect(f).toMatchObject({
      amount: 31,
      amount_missing: false,
      day_of_week: 3, // 2019-12-04 was a Wednesday
      day_of_month: 4,
      month: 12,
      is_weekend: false,
      is_month_start: false,
      is_month_end: false,
      is_holiday: false,
      merchant_group: 'SERVIÇO',
      is_essential: true,
      merchant_abroad: false,
      merchant_city_differs: true,
      account_age_months: 67, // 2014-05 → 2019-12
      age: 37,
      sex: 'F',
      state: 'SP',
      credit_limit: 1000,
      available_ratio: 0.5,
    });
    expect(f.log_amount).toBeCloseTo(Math.log(32), 12);
  });

  it('handles missing values, month edges, weekends, holidays and a zero limit', () => {
    const f = computeFeatures(
      txn({
        amount: null,
        date: '2020-02-29',
        credit_limit: 0,
        merchant_city: null,
        merchant_country: 'US',
        merchant_group: 'VESTUARIO',
      }),
      emptyCustomerState(),
      DEFAULT_FEATURE_PARAMS,
    );
    expect(f).toMatchObject({
      amount: null,
      log_amount: null,
      amount_missing: true,
      day_of_week: 6,
      is_weekend: true,
      is_month_end: true,
      is_month_start: false,
    });
    expect(f).toMatchObject({
      available_ratio: null,
      merchant_city_differs: false,
      merchant_abroad: true,
      is_essential: false,
    });
    expect(
      computeFeatures(
        txn({ date: '2019-03-05', merchant_city: ' são paulo ', city: 'SAO PAULO' }),
        emptyCustomerState(),
        DEFAULT_FEATURE_PARAMS,
      ),
    ).toMatchObject({
      is_holiday: true,
      merchant_city_differs: false,
      is_month_start: false,
    });
    expect(
      computeFeatures(
        txn({ date: '2019-06-02', merchant_country: null }),
        emptyCustomerState(),
        DEFAULT_FEATURE_PARAMS,
      ),
    ).toMatchObject({
      is_month_start: true,
      day_of_week: 0,
      merchant_abroad: false,
    });
  });

  it('applies the configured essential list and home country', () => {
    const params = { essentialGroups: ['VESTUARIO'], homeCountry: 'US', revengeThreshold: 0.2 };
    expect(computeFeatures(txn({ merchant_group: 'VESTUARIO' }), emptyCustomerState(), params)).toMatchObject({
      is_essential: true,
      merchant_abroad: true,
    });
    expect(computeFeatures(base, emptyCustomerState(), params).is_essential).toBe(false);
  });
});

describe('updateCustomerState', () => {
  it('does not modify its input and keeps only the 30-day window', () => {
    let s: CustomerState = emptyCustomerState();
    const s0 = JSON.stringify(s);
    const s1 = updateCustomerState(s, txn({ date: '2019-01-01', amount: 10 }));
    expect(JSON.stringify(s)).toBe(s0);
    s = s1;
    s = updateCustomerState(s, txn({ date: '2019-01-15', amount: 20 }));
    s = updateCustomerState(s, txn({ date: '2019-02-10', amount: 30, available_limit: 250 }));
    // 2019-01-01 is 40 days before 2019-02-10: no later transaction can see it in a 30-day window.
    expect(s.recent.map((r) => r[1])).toEqual([20, 30]);
    expect(s).toMatchObject({ count: 3, amount_count: 3, amount_sum: 60, last_date: '2019-02-10' });
    expect(s.recent.at(-1)).toEqual([epochDay('2019-02-10'), 30, 'SERVIÇO', 0.25]);
  });
});

describe('packed customer history (CustomerHistory, computeBatchInto)', () => {
  // A long, dense history: many rows per day and long gaps make the ring grow, slide and empty.
  const rnd = seededRandom(7);
  const groups = ['SERVIÇO', 'VESTUARIO', 'SUPERMERCADOS', 'LOJA DE DEPART'];
  const history: FeatureInput[] = [];
  let day = epochDay('2019-01-01');
  for (let k = 0; k < 600; k++) {
    day += rnd() < 0.7 ? 0 : rnd() < 0.9 ? 1 + Math.floor(rnd() * 5) : 40;
    history.push(
      txn({
        date: isoFromEpochDay(day),
        amount: rnd() < 0.1 ? null : Math.round(rnd() * 50000) / 100,
        merchant_group: groups[Math.floor(rnd() * groups.length)]!,
        available_limit: Math.floor(rnd() * 1000),
      }),
    );
  }

  /**
   * Brute force over the history up to and including row k, summed oldest first like the kernel.
   * History rows are in date order, so "up to k" is the state after folding row k.
   */
  function reference(k: number, params: { essentialGroups: readonly string[]; revengeThreshold: number }) {
    const d = epochDay(history[k]!.date);
    const inWin = (t: FeatureInput, w: number) => epochDay(t.date) > d - w;
    const upTo = history.slice(0, k + 1);
    const earlier = history.slice(0, k);
    const sum = (xs: FeatureInput[]) => xs.reduce((s, t) => s + (t.amount ?? 0), 0);
    const ratio = (t: FeatureInput) => t.available_limit / t.credit_limit;
    const nonEssential = (t: FeatureInput) => !params.essentialGroups.includes(t.merchant_group);
    const flagged = (t: FeatureInput) => nonEssential(t) && ratio(t) < params.revengeThreshold;
    const min = (xs: FeatureInput[]) => (xs.length ? Math.min(...xs.map(ratio)) : null);
    const w30 = upTo.filter((t) => inWin(t, 30));
    const w7 = upTo.filter((t) => inWin(t, 7));
    const today = upTo.filter((t) => epochDay(t.date) === d);
    const sum30 = sum(w30);
    const non = sum(w30.filter(nonEssential));
    const known = earlier.filter((t) => t.amount !== null);
    const mean = known.length > 0 ? sum(known) / known.length : null;
    const meanRatio = w30.reduce((s, t) => s + ratio(t), 0) / w30.length;
    const lastFlagged = w30.filter(flagged).at(-1);
    const a = history[k]!.amount;
    return {
      day_min_available_ratio: min(today),
      day_count: today.length,
      day_sum: sum(today),
      hist_count_7d: w7.length,
      hist_sum_7d: sum(w7),
      hist_count_30d: w30.length,
      hist_sum_30d: sum30,
      hist_nonessential_share_30d: sum30 > 0 ? non / sum30 : null,
      active_days_30d: new Set(w30.map((t) => t.date)).size,
      revenge_count_today: today.filter(flagged).length,
      revenge_count_7d: w7.filter(flagged).length,
      revenge_count_30d: w30.filter(flagged).length,
      days_since_revenge: lastFlagged === undefined ? null : d - epochDay(lastFlagged.date),
      min_available_ratio_7d: min(w7),
      mean_available_ratio_30d: meanRatio,
      available_ratio_trend_30d: min(today)! - meanRatio,
      days_since_prev: k === 0 ? null : d - epochDay(history[k - 1]!.date),
      amount_to_running_mean: a === null || mean === null || mean === 0 ? null : a / mean,
    };
  }

  it('matches a brute-force history on the online path (JSON state folded row by row)', () => {
    let s = emptyCustomerState();
    history.forEach((t, k) => {
      expect(computeFeatures(t, s, DEFAULT_FEATURE_PARAMS)).toMatchObject(reference(k, DEFAULT_FEATURE_PARAMS));
      s = updateCustomerState(s, t);
    });
    expect(s.count).toBe(history.length);
  });

  it('round-trips a JSON state exactly and re-resolves essential flags when the params change', () => {
    let s = emptyCustomerState();
    for (const t of history.slice(0, 300)) s = updateCustomerState(s, t);
    expect(CustomerHistory.fromState(s).toState()).toEqual(s);
    // Fold the rest offline-style under the default list, then compute under another list.
    const h = CustomerHistory.fromState(s);
    const one = (t: FeatureInput): KernelColumns => {
      const str = (v: string | null) =>
        v === null ? { ids: Int32Array.of(-1), dict: [] } : { ids: Int32Array.of(0), dict: [v] };
      return {
        length: 1,
        account_cohort: str(t.account_cohort),
        city: str(t.city),
        state: str(t.state),
        sex: str(t.sex),
        date: str(t.date),
        merchant_group: str(t.merchant_group),
        merchant_city: str(t.merchant_city),
        merchant_country: str(t.merchant_country),
        age: Int32Array.of(t.age),
        credit_limit: Int32Array.of(t.credit_limit),
        available_limit: Int32Array.of(t.available_limit),
        amount: Float64Array.of(t.amount ?? 0),
        amount_valid: Uint8Array.of(t.amount === null ? 0 : 1),
      };
    };
    const zero = Int32Array.of(0);
    for (const t of history.slice(300, 400)) computeBatchInto(one(t), zero, zero, [h], DEFAULT_FEATURE_PARAMS, null);
    const other = { essentialGroups: ['VESTUARIO'], homeCountry: 'BR', revengeThreshold: 0.3 };
    const out = new FeatureColumns(1);
    computeBatchInto(one(history[400]!), zero, zero, [h], other, out);
    expect(out.row(0)).toMatchObject(reference(400, other));
  });

  it('keeps the window sorted when a late transaction is folded', () => {
    let s = emptyCustomerState();
    s = updateCustomerState(s, txn({ date: '2019-05-10', amount: 1 }));
    s = updateCustomerState(s, txn({ date: '2019-05-01', amount: 2, available_limit: 100 }));
    expect(s.recent.map((r) => r[1])).toEqual([2, 1]);
    expect(s).toMatchObject({ last_date: '2019-05-10', count: 2 });
    expect(s.recent[0]).toEqual([epochDay('2019-05-01'), 2, 'SERVIÇO', 0.1]);
  });
});
