import path from 'node:path';
import { partitionDir, seededRandom, tableFromRows, writeParquetFile } from '@bolsillo/core';
import { arrowSchemaFor, FeatureRowSchema, type FeatureRow } from '@bolsillo/schema';

const GROUPS = ['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'VESTUARIO', 'ARTIGOS ELETRO', 'RESTAURANTE', 'AUTO PEÇAS'];
const ESSENTIAL = new Set(['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'HOSP E CLINICA', 'TRANS FINANC']);

/**
 * Generated feature-store rows: `customers` customers with `perCustomer` transactions each over
 * consecutive days from `start`. Every customer draws its own limit utilisation level so the
 * target is imbalanced and clustered by customer, as in the real data.
 */
export function generateFeatureRows(
  options: { customers?: number; perCustomer?: number; seed?: number; start?: string } = {},
): FeatureRow[] {
  const { customers = 24, perCustomer = 40, seed = 7, start = '2020-01-01' } = options;
  const rand = seededRandom(seed);
  const rows: FeatureRow[] = [];
  const t0 = Date.parse(`${start}T00:00:00Z`);
  for (let c = 0; c < customers; c++) {
    const key = `cust-${String(c).padStart(3, '0')}`;
    const limit = 1000 + Math.floor(rand() * 9) * 500;
    const level = rand() < 0.3 ? 0.1 : 0.6;
    // One row a day per customer: the day aggregates are the row's own, the windows count back k days.
    const ratios: number[] = [];
    const flagged: boolean[] = [];
    for (let k = 0; k < perCustomer; k++) {
      const day = new Date(t0 + (k + (c % 3)) * 86_400_000);
      const date = day.toISOString().slice(0, 10);
      const ratio = Math.max(0, level + (rand() - 0.5) * 0.3);
      const group = GROUPS[Math.floor(rand() * GROUPS.length)]!;
      const amount = Math.round(rand() * 50000) / 100;
      const dow = day.getUTCDay();
      ratios.push(ratio);
      flagged.push(ratio < 0.2 && !ESSENTIAL.has(group));
      const last = (n: number) => ({ r: ratios.slice(-n), f: flagged.slice(-n) });
      const w7 = last(7);
      const w30 = last(30);
      const meanRatio30 = w30.r.reduce((a, b) => a + b, 0) / w30.r.length;
      const lastFlag = w30.f.lastIndexOf(true);
      rows.push({
        txn_id: `gen.csv:${c * perCustomer + k + 2}`,
        customer_key: key,
        date,
        amount,
        log_amount: Math.log1p(amount),
        amount_missing: false,
        day_of_week: dow,
        day_of_month: day.getUTCDate(),
        month: day.getUTCMonth() + 1,
        is_weekend: dow === 0 || dow === 6,
        is_month_start: day.getUTCDate() <= 3,
        is_month_end: day.getUTCDate() >= 28,
        is_holiday: false,
        merchant_group: group,
        is_essential: ESSENTIAL.has(group),
        merchant_abroad: rand() < 0.05,
        merchant_city_differs: rand() < 0.3,
        account_age_months: 12 + c,
        age: 20 + (c % 50),
        sex: c % 2 ? 'F' : 'M',
        state: 'SP',
        credit_limit: limit,
        available_ratio: ratio,
        hist_count_7d: Math.min(k, 7),
        hist_sum_7d: Math.min(k, 7) * 100,
        hist_count_30d: Math.min(k, 30),
        hist_sum_30d: Math.min(k, 30) * 100 + rand() * 10,
        hist_nonessential_share_30d: k === 0 ? null : rand(),
        days_since_prev: k === 0 ? null : 1,
        amount_to_running_mean: k === 0 ? null : 0.5 + rand(),
        day_min_available_ratio: ratio,
        day_count: 1,
        day_sum: amount,
        active_days_30d: w30.r.length,
        revenge_count_today: flagged[k] ? 1 : 0,
        revenge_count_7d: w7.f.filter(Boolean).length,
        revenge_count_30d: w30.f.filter(Boolean).length,
        days_since_revenge: lastFlag < 0 ? null : w30.f.length - 1 - lastFlag,
        min_available_ratio_7d: Math.min(...w7.r),
        mean_available_ratio_30d: meanRatio30,
        available_ratio_trend_30d: ratio - meanRatio30,
      });
    }
  }
  return rows;
}

/** Write rows as a feature store under `dataDir` (one partition per date, like the features stage). */
export function writeFeatureStore(dataDir: string, rows: readonly FeatureRow[]): void {
  const root = path.join(dataDir, 'feature-store', 'transactions');
  const byDate = new Map<string, FeatureRow[]>();
  for (const r of rows) {
    const list = byDate.get(r.date) ?? [];
    list.push(r);
    byDate.set(r.date, list);
  }
  const schema = arrowSchemaFor(FeatureRowSchema);
  for (const [date, list] of byDate)
    writeParquetFile(path.join(partitionDir(root, date), 'part-0.parquet'), tableFromRows(schema, list));
}
