import type { FeatureValues, Transaction } from '@bolsillo/schema';
import { daysInMonth, epochDay, isBrazilianHoliday } from './calendar';

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
 * function serves the offline pipeline and the online API, so training and serving cannot disagree.
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
  const { day, year, month, dom, dow, monthEnd, holiday } = dayInfo(txn.date);
  const essential = essentialSet(params);
  const amount = txn.amount;

  let count7 = 0;
  let sum7 = 0;
  let count30 = 0;
  let sum30 = 0;
  let nonEssential30 = 0;
  const recent = state.recent;
  for (let i = 0; i < recent.length; i++) {
    const entry = recent[i]!;
    const d = entry[0];
    const a = entry[1];
    // `d > day` only happens online for a request dated before the customer's latest transaction.
    if (d > day || d <= day - HISTORY_WINDOW_DAYS) continue;
    count30 += 1;
    sum30 += a;
    if (!essential.has(entry[2])) nonEssential30 += a;
    if (d > day - 7) {
      count7 += 1;
      sum7 += a;
    }
  }
  const mean = state.amount_count > 0 ? state.amount_sum / state.amount_count : null;
  const cohortMonths = Number(txn.account_cohort.slice(0, 4)) * 12 + Number(txn.account_cohort.slice(4, 6));

  return {
    amount,
    log_amount: amount === null ? null : Math.log1p(amount),
    amount_missing: amount === null,
    day_of_week: dow,
    day_of_month: dom,
    month,
    is_weekend: dow === 0 || dow === 6,
    is_month_start: dom <= 3,
    is_month_end: monthEnd,
    is_holiday: holiday,
    merchant_group: txn.merchant_group,
    is_essential: essential.has(txn.merchant_group),
    merchant_abroad: txn.merchant_country !== null && txn.merchant_country.trim() !== '' && normalisePlace(txn.merchant_country) !== normalisePlace(params.homeCountry),
    merchant_city_differs: txn.merchant_city !== null && txn.merchant_city.trim() !== '' && normalisePlace(txn.merchant_city) !== normalisePlace(txn.city),
    account_age_months: year * 12 + month - cohortMonths,
    age: txn.age,
    sex: txn.sex,
    state: txn.state,
    credit_limit: txn.credit_limit,
    available_ratio: availableRatio(txn),
    hist_count_7d: count7,
    hist_sum_7d: sum7,
    hist_count_30d: count30,
    hist_sum_30d: sum30,
    hist_nonessential_share_30d: sum30 > 0 ? nonEssential30 / sum30 : null,
    days_since_prev: state.last_date === null ? null : day - dayInfo(state.last_date).day,
    amount_to_running_mean: amount === null || mean === null || mean === 0 ? null : amount / mean,
    prev_available_ratio: state.last_available_ratio,
  };
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
  state.recent.push([day, amount ?? 0, txn.merchant_group]);
  // Keep the ring sorted by day even if an online caller folds a late-arriving transaction.
  for (let i = state.recent.length - 1; i > 0 && state.recent[i - 1]![0] > day; i--) {
    const tmp = state.recent[i - 1]!;
    state.recent[i - 1] = state.recent[i]!;
    state.recent[i] = tmp;
  }
  const latest = state.last_date === null || txn.date >= state.last_date ? day : dayInfo(state.last_date).day;
  let drop = 0;
  while (drop < state.recent.length && state.recent[drop]![0] <= latest - HISTORY_WINDOW_DAYS) drop += 1;
  if (drop > 0) state.recent.splice(0, drop);
  state.count += 1;
  if (amount !== null) {
    state.amount_count += 1;
    state.amount_sum += amount;
  }
  if (state.last_date === null || txn.date >= state.last_date) {
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
