import type { FeatureValues, Transaction } from '@bolsillo/schema';
import { daysInMonth, epochDay, isBrazilianHoliday } from './calendar';
import { FEATURE_INDEX, FeatureColumns } from './feature-columns';

// Bound once: under CommonJS transpilation every use of an imported binding is a property read.
const F = FEATURE_INDEX;

/** Parameters of the feature kernel (the features stage's `params.json`, also stored in the online store). */
export interface FeatureParams {
  /** Merchant groups counted as essential spending (exact, normalised names). */
  readonly essentialGroups: readonly string[];
  /** Country code of the bank's home market; any other known merchant country is "abroad". */
  readonly homeCountry: string;
}

/** Default kernel parameters: the "vital" groups of the original prototype, Brazil as home. */
export const DEFAULT_FEATURE_PARAMS: FeatureParams = {
  essentialGroups: ['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'HOSP E CLINICA', 'TRANS FINANC'],
  homeCountry: 'BR',
};

/**
 * What the kernel needs of a transaction: the canonical transaction without its lineage fields
 * (`txn_id`, `source_file`, `source_line`), so the API can build one from a prediction request.
 */
export type FeatureInput = Omit<Transaction, 'txn_id' | 'source_file' | 'source_line'>;

/**
 * One earlier transaction kept for the windowed features: `[epochDay, amount (0 when missing),
 * merchant_group]`. The group (not an essential flag) is kept so that the state does not depend on
 * the params: the essential list is applied when features are computed.
 */
export type RecentTransaction = [day: number, amount: number, merchantGroup: string];

/**
 * Everything the history features need about a customer's earlier transactions, and nothing more.
 * JSON-serialisable (it is what the online store holds per customer).
 *
 * Size: `recent` only keeps transactions whose date is within {@link HISTORY_WINDOW_DAYS} days of
 * the customer's latest transaction, because no later transaction can see older ones in a window;
 * everything else is a running sum or a "last value".
 */
export interface CustomerState {
  /** Earlier transactions inside the longest window, oldest first. */
  recent: RecentTransaction[];
  /** All earlier transactions. */
  count: number;
  /** Earlier transactions with a known amount, and their amount sum (for the running mean). */
  amount_count: number;
  amount_sum: number;
  /** Date of the latest earlier transaction; null before the first one. */
  last_date: string | null;
  /** available_limit / credit_limit of the latest earlier transaction; null when none or the limit was 0. */
  last_available_ratio: number | null;
}

/** The longest history window in days: the ring in {@link CustomerState} keeps exactly this much. */
export const HISTORY_WINDOW_DAYS = 30;

/** The state of a customer with no transactions yet. */
export function emptyCustomerState(): CustomerState {
  return { recent: [], count: 0, amount_count: 0, amount_sum: 0, last_date: null, last_available_ratio: null };
}

const placeCache = new Map<string, string>();
/** Upper case, no accents, single spaces: "São  Paulo " and "SAO PAULO" are the same place. Memoised (few distinct values). */
function normalisePlace(value: string): string {
  let out = placeCache.get(value);
  if (out === undefined) {
    out = value
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .trim()
      .replace(/\s+/g, ' ')
      .toUpperCase();
    if (placeCache.size > 100_000) placeCache.clear(); // bound memory on adversarial inputs
    placeCache.set(value, out);
  }
  return out;
}

interface DayInfo {
  readonly day: number;
  readonly year: number;
  readonly month: number;
  readonly dom: number;
  readonly dow: number;
  readonly monthEnd: boolean;
  readonly holiday: boolean;
}

const dayCache = new Map<string, DayInfo>();
/** Calendar facts of a date, memoised: every row of a day shares them (a pure cache, bounded). */
function dayInfo(iso: string): DayInfo {
  let info = dayCache.get(iso);
  if (info === undefined) {
    const day = epochDay(iso);
    const year = Number(iso.slice(0, 4));
    const month = Number(iso.slice(5, 7));
    const dom = Number(iso.slice(8, 10));
    info = {
      day,
      year,
      month,
      dom,
      dow: (((day + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
      monthEnd: dom > daysInMonth(year, month) - 3,
      holiday: isBrazilianHoliday(iso),
    };
    if (dayCache.size > 50_000) dayCache.clear();
    dayCache.set(iso, info);
  }
  return info;
}

const essentialCache = new WeakMap<readonly string[], ReadonlySet<string>>();
function essentialSet(params: FeatureParams): ReadonlySet<string> {
  let set = essentialCache.get(params.essentialGroups);
  if (!set) {
    set = new Set(params.essentialGroups);
    essentialCache.set(params.essentialGroups, set);
  }
  return set;
}

/**
 * Compute every declared feature of one transaction from the transaction itself and the
 * customer's state (= the customer's transactions strictly before this one). Pure: the same
 * function serves the offline pipeline and the online API, so training and serving cannot disagree
 * (it is {@link computeFeaturesInto} on a one-row {@link FeatureColumns}).
 *
 * Point-in-time definitions (D = the transaction's date, in whole days):
 * - "earlier" means before this transaction in the order (date, source_file, source_line); rows of
 *   the same day that come earlier in the source are included, later ones are not.
 * - 7-day window: earlier transactions with D − 7 < date ≤ D (so D−6 … D, same day included);
 *   30-day window: D − 30 < date ≤ D.
 * - `hist_count_*` counts every earlier transaction in the window, including rows whose amount is
 *   missing; `hist_sum_*` sums known amounts (a missing amount contributes 0).
 * - `hist_nonessential_share_30d` = non-essential 30-day sum / 30-day sum; null when the sum is 0.
 * - `days_since_prev` = D − date of the previous transaction (0 on the same day); null for the first.
 * - `amount_to_running_mean` = amount / mean of all earlier known amounts; null when the amount is
 *   missing, there is no earlier amount, or the mean is 0.
 * - `prev_available_ratio` = available / credit limit of the previous transaction.
 *
 * @example
 * const s = updateCustomerState(emptyCustomerState(), first);
 * computeFeatures(second, s, DEFAULT_FEATURE_PARAMS).hist_count_7d; // 1 if first is within 7 days
 */
export function computeFeatures(txn: FeatureInput, state: CustomerState, params: FeatureParams): FeatureValues {
  const one = oneRow ?? (oneRow = new FeatureColumns(1));
  computeFeaturesInto(txn, state, params, one, 0);
  return one.row(0);
}
let oneRow: FeatureColumns | undefined;

/**
 * {@link computeFeatures} written into row `row` of a columnar sink instead of a new object: the
 * offline pipeline's path (no object per row, columns go straight into Arrow vectors). This is the
 * only place where feature values are computed.
 */
export function computeFeaturesInto(txn: FeatureInput, state: CustomerState, params: FeatureParams, out: FeatureColumns, row: number): void {
  const info = dayInfo(txn.date);
  const day = info.day;
  const essential = essentialSet(params);
  const amount = txn.amount;

  let count7 = 0;
  let sum7 = 0;
  let count30 = 0;
  let sum30 = 0;
  let nonEssential30 = 0;
  const recent = state.recent;
  // Oldest first, as the sums have always been accumulated (floating-point order matters for
  // identical outputs). Amortised cost is small: `recent` only holds the last 30 days.
  for (let i = 0; i < recent.length; i++) {
    const entry = recent[i]!;
    const d = entry[0];
    // `d > day` only happens online for a request dated before the customer's latest transaction.
    if (d > day || d <= day - HISTORY_WINDOW_DAYS) continue;
    const a = entry[1];
    count30 += 1;
    sum30 += a;
    if (!essential.has(entry[2])) nonEssential30 += a;
    if (d > day - 7) {
      count7 += 1;
      sum7 += a;
    }
  }
  const mean = state.amount_count > 0 ? state.amount_sum / state.amount_count : null;
  const cohortMonths = cohortMonthsOf(txn.account_cohort);
  const dow = info.dow;
  const dom = info.dom;
  put(out, row, F.amount, amount);
  put(out, row, F.log_amount, amount === null ? null : Math.log1p(amount));
  put(out, row, F.amount_missing, amount === null ? 1 : 0);
  put(out, row, F.day_of_week, dow);
  put(out, row, F.day_of_month, dom);
  put(out, row, F.month, info.month);
  put(out, row, F.is_weekend, dow === 0 || dow === 6 ? 1 : 0);
  put(out, row, F.is_month_start, dom <= 3 ? 1 : 0);
  put(out, row, F.is_month_end, info.monthEnd ? 1 : 0);
  put(out, row, F.is_holiday, info.holiday ? 1 : 0);
  out.text[F.merchant_group]![row] = txn.merchant_group;
  put(out, row, F.is_essential, essential.has(txn.merchant_group) ? 1 : 0);
  put(
    out,
    row,
    F.merchant_abroad,
    txn.merchant_country !== null && txn.merchant_country.trim() !== '' && normalisePlace(txn.merchant_country) !== normalisePlace(params.homeCountry) ? 1 : 0,
  );
  put(out, row, F.merchant_city_differs, txn.merchant_city !== null && txn.merchant_city.trim() !== '' && normalisePlace(txn.merchant_city) !== normalisePlace(txn.city) ? 1 : 0);
  put(out, row, F.account_age_months, info.year * 12 + info.month - cohortMonths);
  put(out, row, F.age, txn.age);
  out.text[F.sex]![row] = txn.sex;
  out.text[F.state]![row] = txn.state;
  put(out, row, F.credit_limit, txn.credit_limit);
  put(out, row, F.available_ratio, availableRatio(txn));
  put(out, row, F.hist_count_7d, count7);
  put(out, row, F.hist_sum_7d, sum7);
  put(out, row, F.hist_count_30d, count30);
  put(out, row, F.hist_sum_30d, sum30);
  put(out, row, F.hist_nonessential_share_30d, sum30 > 0 ? nonEssential30 / sum30 : null);
  put(out, row, F.days_since_prev, state.last_date === null ? null : day - dayInfo(state.last_date).day);
  put(out, row, F.amount_to_running_mean, amount === null || mean === null || mean === 0 ? null : amount / mean);
  put(out, row, F.prev_available_ratio, state.last_available_ratio);
}

function put(out: FeatureColumns, row: number, f: number, x: number | null): void {
  if (x === null) out.valid[f]![row] = 0;
  else {
    out.values[f]![row] = x;
    out.valid[f]![row] = 1;
  }
}

const cohortCache = new Map<string, number>();
/** `YYYYMM` → months since year 0 (memoised: a few hundred cohorts). */
function cohortMonthsOf(cohort: string): number {
  let m = cohortCache.get(cohort);
  if (m === undefined) {
    m = Number(cohort.slice(0, 4)) * 12 + Number(cohort.slice(4, 6));
    if (cohortCache.size > 10_000) cohortCache.clear();
    cohortCache.set(cohort, m);
  }
  return m;
}

function availableRatio(txn: FeatureInput): number | null {
  return txn.credit_limit > 0 ? txn.available_limit / txn.credit_limit : null;
}

/**
 * Fold a transaction into a state in place (the offline pipeline's fast path; the online path uses
 * {@link updateCustomerState}, which copies first — both run exactly this code).
 * Transactions must be folded in (date, source_file, source_line) order.
 */
export function foldCustomerState(state: CustomerState, txn: FeatureInput): CustomerState {
  const day = dayInfo(txn.date).day;
  const amount = txn.amount;
  const recent = state.recent;
  recent.push([day, amount ?? 0, txn.merchant_group]);
  // Keep the ring sorted by day even if an online caller folds a late-arriving transaction.
  for (let i = recent.length - 1; i > 0 && recent[i - 1]![0] > day; i--) {
    const tmp = recent[i - 1]!;
    recent[i - 1] = recent[i]!;
    recent[i] = tmp;
  }
  const isLatest = state.last_date === null || txn.date >= state.last_date;
  const latest = isLatest ? day : dayInfo(state.last_date!).day;
  // shift() instead of splice(): no array of removed entries is allocated (this runs once per row).
  while (recent.length > 0 && recent[0]![0] <= latest - HISTORY_WINDOW_DAYS) recent.shift();
  state.count += 1;
  if (amount !== null) {
    state.amount_count += 1;
    state.amount_sum += amount;
  }
  if (isLatest) {
    state.last_date = txn.date;
    state.last_available_ratio = availableRatio(txn);
  }
  return state;
}

/** A deep copy of a state (states are plain JSON values). */
export function cloneCustomerState(state: CustomerState): CustomerState {
  return { ...state, recent: state.recent.map((r) => [r[0], r[1], r[2]] as RecentTransaction) };
}

/**
 * The customer's state after one more transaction; the input state is not modified.
 * Transactions must be applied in (date, source_file, source_line) order for the features to be
 * point-in-time correct.
 *
 * @example
 * let s = emptyCustomerState();
 * for (const t of history) s = updateCustomerState(s, t);
 */
export function updateCustomerState(state: CustomerState, txn: FeatureInput): CustomerState {
  return foldCustomerState(cloneCustomerState(state), txn);
}
