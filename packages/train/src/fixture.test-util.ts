import {
  arrowSchemaFor,
  FEATURE_NAMES,
  MasterLatestSchema,
  MasterRowSchema,
  SelectionSchema,
  TARGET,
} from '@bolsillo/schema';
import { dataLayout, seededRandom, tableFromRows, writeContract, writeParquetFile } from '@bolsillo/core';

const GROUPS = ['SUPERMERCADOS', 'FARMACIAS', 'POSTO DE GAS', 'VESTUARIO', 'RESTAURANTE', 'ELETRONICOS', 'VIAGENS'];
const ESSENTIAL = new Set(['SUPERMERCADOS', 'FARMACIAS', 'POSTO DE GAS']);
const STATES = ['SP', 'RJ', 'MG', 'RS', 'BA'];

/**
 * Synthetic master rows with the real target rule (available/limit < 0.2 and non-essential), for
 * unit tests: each customer's utilisation drifts, so `day_min_available_ratio` (the ratio as of the
 * row before) carries the signal.
 */
export function syntheticMasterRows(
  customers: number,
  perCustomer: number,
  seed = 1,
  folds = 5,
): Record<string, unknown>[] {
  const rand = seededRandom(seed);
  const rows: Record<string, unknown>[] = [];
  for (let c = 0; c < customers; c++) {
    const group = `cust-${String(c).padStart(5, '0')}`;
    const u = rand();
    const split = u < 0.6 ? 'train' : u < 0.75 ? 'calibration' : u < 0.9 ? 'test' : 'holdout';
    const fold = split === 'train' ? c % folds : -1;
    let ratio = rand();
    let prev: number | null = null;
    const limit = 1000 + Math.floor(rand() * 9000);
    const state = STATES[Math.floor(rand() * STATES.length)]!;
    const age = 20 + Math.floor(rand() * 50);
    for (let t = 0; t < perCustomer; t++) {
      ratio = Math.min(1, Math.max(0, ratio + (rand() - 0.5) * 0.25));
      const mg = GROUPS[Math.floor(rand() * GROUPS.length)]!;
      const essential = ESSENTIAL.has(mg);
      const amount = rand() < 0.03 ? null : Math.round(rand() * 500 * 100) / 100;
      const day = 1 + (t % 28);
      const row: Record<string, unknown> = {
        txn_id: `${group}-${t}`,
        customer_key: group,
        date: `2020-${String(1 + (t % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
        amount,
        log_amount: amount === null ? null : Math.log1p(amount),
        amount_missing: amount === null,
        day_of_week: t % 7,
        day_of_month: day,
        month: 1 + (t % 12),
        is_weekend: t % 7 === 0 || t % 7 === 6,
        is_month_start: day <= 3,
        is_month_end: day >= 26,
        is_holiday: false,
        merchant_group: mg,
        is_essential: essential,
        merchant_abroad: rand() < 0.05,
        merchant_city_differs: rand() < 0.2,
        account_age_months: 6 + (c % 60),
        age,
        sex: c % 2 ? 'F' : 'M',
        state,
        credit_limit: limit,
        available_ratio: ratio,
        hist_count_7d: Math.floor(rand() * 5),
        hist_sum_7d: rand() * 1000,
        hist_count_30d: Math.floor(rand() * 20),
        hist_sum_30d: rand() * 4000,
        hist_nonessential_share_30d: t === 0 ? null : rand(),
        days_since_prev: t === 0 ? null : rand() * 10,
        amount_to_running_mean: t === 0 || amount === null ? null : rand() * 3,
        // The ratio as of the row before (the signal), and the other snapshot features derived
        // from it without drawing from `rand`, so the other columns stay as they were.
        day_min_available_ratio: prev,
        day_count: 1,
        day_sum: amount ?? 0,
        active_days_30d: Math.min(t + 1, 30),
        revenge_count_today: 0,
        revenge_count_7d: prev !== null && prev < 0.2 ? 1 : 0,
        revenge_count_30d: prev !== null && prev < 0.2 ? 1 : 0,
        days_since_revenge: prev !== null && prev < 0.2 ? 1 : null,
        min_available_ratio_7d: prev,
        mean_available_ratio_30d: prev,
        available_ratio_trend_30d: prev === null ? null : 0,
        [TARGET]: ratio < 0.2 && !essential,
        group,
        split,
        fold,
      };
      rows.push(row);
      prev = ratio;
    }
  }
  return rows;
}

/** Model features of the synthetic master (everything known before the transaction). */
export const SYNTHETIC_FEATURES = FEATURE_NAMES.filter((f) => f !== 'available_ratio');

/** Write a synthetic master table as the build stage would (`master/<hash>/…`, `latest.json`). */
export function writeSyntheticMaster(
  dataDir: string,
  rows: Record<string, unknown>[],
  hash = 'synthetic0001',
  features: readonly string[] = SYNTHETIC_FEATURES,
): string {
  const layout = dataLayout(dataDir);
  writeParquetFile(layout.masterTable(hash), tableFromRows(arrowSchemaFor(MasterRowSchema), rows));
  const train = rows.filter((r) => r.split === 'train').length;
  writeContract(layout.masterSelection(hash), SelectionSchema, {
    features: [...features],
    fitted_on: 'train',
    rows: train,
    decisions: [],
  });
  writeContract(layout.masterLatest, MasterLatestSchema, { hash });
  return layout.masterDir(hash);
}

/**
 * Baselines for tests, on features the synthetic master has under both the transaction and the
 * snapshot feature sets (the defaults name snapshot features).
 */
export const TEST_BASELINES = {
  ratio_rule: { feature: 'hist_nonessential_share_30d', direction: 'higher' as const, threshold: 0.5 },
  ratio_graded: { feature: 'hist_nonessential_share_30d', direction: 'higher' as const },
  persistence: { feature: 'hist_count_7d', direction: 'higher' as const, threshold: 0 },
  best_feature: { exclude: [] },
};
