import { computeFeatures, DEFAULT_FEATURE_PARAMS, emptyCustomerState, updateCustomerState, type FeatureInput, type CustomerState } from './kernel';

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
      txn({ amount: null, date: '2020-02-29', credit_limit: 0, merchant_city: null, merchant_country: 'US', merchant_group: 'VESTUARIO' }),
      emptyCustomerState(),
      DEFAULT_FEATURE_PARAMS,
    );
    expect(f).toMatchObject({ amount: null, log_amount: null, amount_missing: true, day_of_week: 6, is_weekend: true, is_month_end: true, is_month_start: false });
    expect(f).toMatchObject({ available_ratio: null, merchant_city_differs: false, merchant_abroad: true, is_essential: false });
    expect(computeFeatures(txn({ date: '2019-03-05', merchant_city: ' são paulo ', city: 'SAO PAULO' }), emptyCustomerState(), DEFAULT_FEATURE_PARAMS)).toMatchObject({
      is_holiday: true,
      merchant_city_differs: false,
      is_month_start: false,
    });
    expect(computeFeatures(txn({ date: '2019-06-02', merchant_country: null }), emptyCustomerState(), DEFAULT_FEATURE_PARAMS)).toMatchObject({
      is_month_start: true,
      day_of_week: 0,
      merchant_abroad: false,
    });
  });

  it('applies the configured essential list and home country', () => {
    const params = { essentialGroups: ['VESTUARIO'], homeCountry: 'US' };
    expect(computeFeatures(txn({ merchant_group: 'VESTUARIO' }), emptyCustomerState(), params)).toMatchObject({ is_essential: true, merchant_abroad: true });
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
    expect(s).toMatchObject({ count: 3, amount_count: 3, amount_sum: 60, last_date: '2019-02-10', last_available_ratio: 0.25 });
  });
});
