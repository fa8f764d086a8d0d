import { FEATURE_DECLARATIONS, type FeatureValues, type Transaction } from '@bolsillo/schema';
import { daysInMonth, epochDay, isBrazilianHoliday } from './calendar';
import { FEATURE_INDEX, FeatureColumns } from './feature-columns';

// Feature positions, read for every feature of every row: kept in a module constant (docs/bench-features.md).
const F = FEATURE_INDEX;
const FEATURE_COUNT = FEATURE_DECLARATIONS.length;
/** Indices of the features the sink stores as numbers (all but categories). */
const NUMERIC = Int32Array.from(FEATURE_DECLARATIONS.flatMap((d, f) => (d.dtype === 'category' ? [] : [f])));

/** Parameters of the feature kernel (the features stage's `params.json`, also stored in the online store). */
export interface FeatureParams {
  /** Merchant groups counted as essential spending (exact, normalised names). */
  readonly essentialGroups: readonly string[];
  /** Country code of the bank's home market; any other known merchant country is "abroad". */
  readonly homeCountry: string;
  /**
   * A transaction is flagged (revenge spending) when its available / total limit is below this and
   * its group is not essential: the same rule as the build stage's flag, counted in the history.
   */
  readonly revengeThreshold: number;
}

/** Default kernel parameters: the "vital" groups of the original prototype, Brazil as home. */
export const DEFAULT_FEATURE_PARAMS: FeatureParams = {
  essentialGroups: ['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'HOSP E CLINICA', 'TRANS FINANC'],
  homeCountry: 'BR',
  revengeThreshold: 0.2,
};

/**
 * What the kernel needs of a transaction: the canonical transaction without its lineage fields
 * (`txn_id`, `source_file`, `source_line`), so the API can build one from a prediction request.
 */
export type FeatureInput = Omit<Transaction, 'txn_id' | 'source_file' | 'source_line'>;

/**
 * One transaction kept for the windowed features: `[epochDay, amount (0 when missing),
 * merchant_group, available / total limit (null when the limit is 0)]`. The group and the ratio
 * (not an essential or flagged bit) are kept so that the state does not depend on the params: the
 * essential list and the flag threshold are applied when features are computed.
 */
export type RecentTransaction = [day: number, amount: number, merchantGroup: string, availableRatio: number | null];

/**
 * Everything the history features need about a customer's transactions so far, and nothing more.
 * JSON-serialisable (it is what the online store holds per customer). The state after a customer's
 * last transaction of a day is that day's snapshot: the day's rows are all in `recent`, so the day
 * aggregates (count, sum, lowest ratio) do not depend on the order of the rows within the day.
 *
 * Size: `recent` only keeps transactions whose date is within {@link HISTORY_WINDOW_DAYS} days of
 * the customer's latest transaction, because no later transaction can see older ones in a window;
 * everything else is a running sum or a "last value".
 */
export interface CustomerState {
  /** Transactions inside the longest window, oldest first. */
  recent: RecentTransaction[];
  /** All transactions folded so far. */
  count: number;
  /** Transactions with a known amount, and their amount sum (for the running mean). */
  amount_count: number;
  amount_sum: number;
  /** Date of the latest transaction; null before the first one. */
  last_date: string | null;
}

/** The longest history window in days: the ring in {@link CustomerState} keeps exactly this much. */
export const HISTORY_WINDOW_DAYS = 30;

/** The state of a customer with no transactions yet. */
export function emptyCustomerState(): CustomerState {
  return { recent: [], count: 0, amount_count: 0, amount_sum: 0, last_date: null };
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

const lastingStrings = new Map<string, string>();
/** The first-seen instance of a string value (merchant groups and dates: few distinct values; bounded). */
function lasting(value: string): string {
  let out = lastingStrings.get(value);
  if (out === undefined) {
    if (lastingStrings.size > 100_000) lastingStrings.clear();
    lastingStrings.set(value, (out = value));
  }
  return out;
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

/** An interned string column as the batch kernel reads it: `ids[i]` indexes `dict`, −1 = null. */
export interface KernelStrings {
  readonly ids: Int32Array;
  readonly dict: readonly string[];
}

/**
 * A batch of transactions as columns: what {@link computeBatchInto} reads. The features stage's
 * lake columns have exactly this shape; {@link computeFeatures} builds a one-row batch from a
 * {@link FeatureInput}, so the online and offline paths run the same loop.
 */
export interface KernelColumns {
  readonly length: number;
  readonly account_cohort: KernelStrings;
  readonly city: KernelStrings;
  readonly state: KernelStrings;
  readonly sex: KernelStrings;
  readonly date: KernelStrings;
  readonly merchant_group: KernelStrings;
  readonly merchant_city: KernelStrings;
  readonly merchant_country: KernelStrings;
  readonly age: Int32Array | Float64Array;
  readonly credit_limit: Int32Array | Float64Array;
  readonly available_limit: Int32Array | Float64Array;
  readonly amount: Float64Array;
  /** 1 where `amount` is known. */
  readonly amount_valid: Uint8Array;
}

/**
 * The current row's doubles (amount, available ratio), handed to the sink and the history through
 * this scratch array instead of as arguments, so that computing a row allocates nothing
 * (docs/bench-features.md).
 */
const ROW = new Float64Array(2);
const ROW_AMOUNT = 0;
const ROW_RATIO = 1;

/**
 * A customer's history in packed form: the working representation of a {@link CustomerState}
 * (same content: {@link CustomerHistory.fromState} and {@link CustomerHistory.toState} convert
 * exactly). The 30-day window is a ring of typed arrays, oldest first, so folding a transaction
 * allocates nothing and the window sums are a loop over numbers. Each entry also carries a
 * "non-essential" flag resolved against the essential list the history is bound to
 * (re-resolved from the kept group names if the kernel is called with another list), so the
 * per-row loop does no string lookups.
 */
export class CustomerHistory {
  /** Window entries live at [start, end) of these arrays, sorted by day. */
  private days = new Int32Array(8);
  private amounts = new Float64Array(8);
  /** available / total limit per entry, NaN for null. */
  private ratios = new Float64Array(8);
  private nonEssential = new Uint8Array(8);
  private groups: string[] = new Array<string>(8);
  private start = 0;
  private end = 0;
  /** The essential set the flags were resolved against (null: not resolved). */
  private essential: ReadonlySet<string> | null = null;
  count = 0;
  amountCount = 0;
  amountSum = 0;
  lastDate: string | null = null;
  /** Epoch day of `lastDate` (NaN before the first transaction). */
  lastDay = NaN;

  /** The packed form of a JSON state (the online store's representation). */
  static fromState(state: CustomerState): CustomerHistory {
    const h = new CustomerHistory();
    for (const [day, amount, group, ratio] of state.recent) h.push(day, amount, ratio ?? NaN, group, 0);
    h.count = state.count;
    h.amountCount = state.amount_count;
    h.amountSum = state.amount_sum;
    h.lastDate = state.last_date;
    h.lastDay = state.last_date === null ? NaN : dayInfo(state.last_date).day;
    return h;
  }

  /** The JSON state with exactly this content (key order as {@link emptyCustomerState}). */
  toState(): CustomerState {
    const recent: RecentTransaction[] = [];
    for (let j = this.start; j < this.end; j++) {
      const r = this.ratios[j]!;
      recent.push([this.days[j]!, this.amounts[j]!, this.groups[j]!, r === r ? r : null]);
    }
    return {
      recent,
      count: this.count,
      amount_count: this.amountCount,
      amount_sum: this.amountSum,
      last_date: this.lastDate,
    };
  }

  /** Resolve the non-essential flags against `essential` (only when it differs from the bound one). */
  bind(essential: ReadonlySet<string> | null): void {
    if (this.essential === essential) return;
    this.essential = essential;
    for (let j = this.start; j < this.end; j++)
      this.nonEssential[j] = essential !== null && !essential.has(this.groups[j]!) ? 1 : 0;
  }

  private push(day: number, amount: number, ratio: number, group: string, nonEssential: number): void {
    if (this.end === this.days.length) {
      const n = this.end - this.start;
      if (this.start > 0 && n <= this.days.length >> 1) {
        // Enough room once the evicted front is dropped: slide down instead of growing.
        this.days.copyWithin(0, this.start, this.end);
        this.amounts.copyWithin(0, this.start, this.end);
        this.ratios.copyWithin(0, this.start, this.end);
        this.nonEssential.copyWithin(0, this.start, this.end);
        for (let j = 0; j < n; j++) this.groups[j] = this.groups[this.start + j]!;
      } else {
        const cap = this.days.length * 2;
        const days = new Int32Array(cap);
        const amounts = new Float64Array(cap);
        const ratios = new Float64Array(cap);
        const flags = new Uint8Array(cap);
        days.set(this.days.subarray(this.start, this.end));
        amounts.set(this.amounts.subarray(this.start, this.end));
        ratios.set(this.ratios.subarray(this.start, this.end));
        flags.set(this.nonEssential.subarray(this.start, this.end));
        const groups = new Array<string>(cap);
        for (let j = 0; j < n; j++) groups[j] = this.groups[this.start + j]!;
        this.days = days;
        this.amounts = amounts;
        this.ratios = ratios;
        this.nonEssential = flags;
        this.groups = groups;
      }
      this.start = 0;
      this.end = n;
    }
    let j = this.end++;
    // Keep the ring sorted by day even if an online caller folds a late-arriving transaction.
    while (j > this.start && this.days[j - 1]! > day) {
      this.days[j] = this.days[j - 1]!;
      this.amounts[j] = this.amounts[j - 1]!;
      this.ratios[j] = this.ratios[j - 1]!;
      this.nonEssential[j] = this.nonEssential[j - 1]!;
      this.groups[j] = this.groups[j - 1]!;
      j--;
    }
    this.days[j] = day;
    this.amounts[j] = amount;
    this.ratios[j] = ratio;
    this.nonEssential[j] = nonEssential;
    this.groups[j] = group;
  }

  /**
   * Fold one transaction (already resolved to numbers; `amount` counts only when `amountKnown` is 1,
   * a NaN `availableRatio` stands for null) into the history.
   */
  fold(
    day: number,
    date: string,
    amount: number,
    amountKnown: number,
    group: string,
    nonEssential: number,
    availableRatio: number,
  ): void {
    ROW[ROW_AMOUNT] = amount;
    ROW[ROW_RATIO] = availableRatio;
    this.foldRow(day, date, amountKnown, group, nonEssential);
  }

  /** {@link CustomerHistory.fold} with the amount and ratio in {@link ROW} (no double argument: see there). */
  foldRow(day: number, date: string, amountKnown: number, group: string, nonEssential: number): void {
    const amount = ROW[ROW_AMOUNT]!;
    const availableRatio = ROW[ROW_RATIO]!;
    const kept = amountKnown === 1 ? amount : 0;
    const e = this.end;
    if (e < this.days.length && (e === this.start || this.days[e - 1]! <= day)) {
      // The usual case, inline: room at the end and the ring stays sorted.
      this.days[e] = day;
      this.amounts[e] = kept;
      this.ratios[e] = availableRatio;
      this.nonEssential[e] = nonEssential;
      this.groups[e] = group;
      this.end = e + 1;
    } else this.push(day, kept, availableRatio, group, nonEssential);
    const isLatest = this.lastDate === null || day >= this.lastDay;
    const latest = isLatest ? day : this.lastDay;
    // Only entries that a later transaction can still see in a 30-day window are kept.
    while (this.start < this.end && this.days[this.start]! <= latest - HISTORY_WINDOW_DAYS) this.start++;
    this.count += 1;
    if (amountKnown === 1) {
      this.amountCount += 1;
      this.amountSum += amount;
    }
    if (isLatest) {
      this.lastDate = date;
      this.lastDay = day;
    }
  }

  /**
   * The day, 7- and 30-day window aggregates as of epoch day `day` (entries dated after it are
   * ignored), into `w`. Entries are summed oldest first; an entry is flagged when its ratio is
   * below `threshold` and its group is not essential.
   */
  window(day: number, threshold: number, w: WindowSums): void {
    let count7 = 0;
    let sum7 = 0;
    let count30 = 0;
    let sum30 = 0;
    let nonEssential30 = 0;
    let dayCount = 0;
    let daySum = 0;
    let dayMin = Infinity;
    let min7 = Infinity;
    let ratioSum30 = 0;
    let ratioCount30 = 0;
    let revengeToday = 0;
    let revenge7 = 0;
    let revenge30 = 0;
    let lastRevenge = -Infinity;
    let activeDays = 0;
    let prevDay = NaN;
    const days = this.days;
    const amounts = this.amounts;
    const ratios = this.ratios;
    const flags = this.nonEssential;
    const lo30 = day - HISTORY_WINDOW_DAYS;
    const lo7 = day - 7;
    for (let j = this.start; j < this.end; j++) {
      const d = days[j]!;
      if (d > day || d <= lo30) continue;
      const a = amounts[j]!;
      const r = ratios[j]!;
      const nonEssential = flags[j] === 1;
      const flagged = nonEssential && r < threshold;
      count30 += 1;
      sum30 += a;
      if (d !== prevDay) {
        activeDays += 1;
        prevDay = d;
      }
      if (nonEssential) nonEssential30 += a;
      if (r === r) {
        ratioSum30 += r;
        ratioCount30 += 1;
      }
      if (flagged) {
        revenge30 += 1;
        lastRevenge = d;
      }
      if (d > lo7) {
        count7 += 1;
        sum7 += a;
        if (r < min7) min7 = r;
        if (flagged) revenge7 += 1;
      }
      if (d === day) {
        dayCount += 1;
        daySum += a;
        if (r < dayMin) dayMin = r;
        if (flagged) revengeToday += 1;
      }
    }
    w.count7 = count7;
    w.sum7 = sum7;
    w.count30 = count30;
    w.sum30 = sum30;
    w.nonEssential30 = nonEssential30;
    w.dayCount = dayCount;
    w.daySum = daySum;
    w.dayMinRatio = dayMin === Infinity ? NaN : dayMin;
    w.minRatio7 = min7 === Infinity ? NaN : min7;
    w.meanRatio30 = ratioCount30 > 0 ? ratioSum30 / ratioCount30 : NaN;
    w.revengeToday = revengeToday;
    w.revenge7 = revenge7;
    w.revenge30 = revenge30;
    w.daysSinceRevenge = lastRevenge === -Infinity ? NaN : day - lastRevenge;
    w.activeDays30 = activeDays;
  }
}

interface WindowSums {
  count7: number;
  sum7: number;
  count30: number;
  sum30: number;
  nonEssential30: number;
  dayCount: number;
  daySum: number;
  /** NaN stands for null in the ratio fields and in `daysSinceRevenge`. */
  dayMinRatio: number;
  minRatio7: number;
  meanRatio30: number;
  revengeToday: number;
  revenge7: number;
  revenge30: number;
  daysSinceRevenge: number;
  activeDays30: number;
}

function emptyWindowSums(): WindowSums {
  return {
    count7: 0,
    sum7: 0,
    count30: 0,
    sum30: 0,
    nonEssential30: 0,
    dayCount: 0,
    daySum: 0,
    dayMinRatio: NaN,
    minRatio7: NaN,
    meanRatio30: NaN,
    revengeToday: 0,
    revenge7: 0,
    revenge30: 0,
    daysSinceRevenge: NaN,
    activeDays30: 0,
  };
}

/** Normalised places of a column's dictionary as small integers: equal ids ⇔ equal normalised places; −1 = null or blank. */
function placeIds(col: KernelStrings, ids: Map<string, number>): Int32Array {
  const out = new Int32Array(col.dict.length);
  for (let k = 0; k < col.dict.length; k++) {
    const v = col.dict[k]!;
    if (v.trim() === '') {
      out[k] = -1;
      continue;
    }
    const norm = normalisePlace(v);
    let id = ids.get(norm);
    if (id === undefined) ids.set(norm, (id = ids.size));
    out[k] = id;
  }
  return out;
}

/**
 * Fold the transactions of a batch in the order `order` and (when `out` is given) compute each
 * row's features as of just after it (`order[k]` = the row at history position k; its features go
 * to row `outRow + k` of `out`). `histories[c]` is the history of the customer whose id in the
 * batch is `c` (`customers[i]` for row i) and is advanced in place, row after row, so a
 * customer's later rows see its earlier ones. This is the only place where feature values are computed: string-derived
 * facts (calendar, essential flag, abroad, place comparison, cohort) are resolved once per
 * distinct value of the batch, the per-row work is arithmetic on numbers.
 * `params` may be null only when `out` is null (folding without computing).
 */
export function computeBatchInto(
  cols: KernelColumns,
  order: Int32Array,
  customers: Int32Array,
  histories: readonly CustomerHistory[],
  params: FeatureParams | null,
  out: FeatureColumns | null,
  outRow = 0,
): void {
  if (out !== null && params === null) throw new Error('computeBatchInto: params are required to compute features');
  const essential = params === null ? null : essentialSet(params);
  // Per distinct value of the batch, not per row.
  const dates = cols.date.dict.map(dayInfo);
  const groupNonEssential = Uint8Array.from(cols.merchant_group.dict, (g) =>
    essential !== null && !essential.has(g) ? 1 : 0,
  );
  const dateIds = cols.date.ids;
  const groupIds = cols.merchant_group.ids;
  // The strings a history keeps (group of each window entry, latest date) are the long-lived
  // instances: storing a batch's fresh strings into old histories makes every later young-generation
  // collection revisit them (one remembered slot per row).
  const groupDict = cols.merchant_group.dict.map(lasting);
  const dateDict = cols.date.dict.map(lasting);
  const amount = cols.amount;
  const amountValid = cols.amount_valid;
  const credit = cols.credit_limit;
  const available = cols.available_limit;
  let sink: BatchSink | null = null;
  if (out !== null && params !== null) {
    sink = new BatchSink(cols, params, out);
    // Rows start valid: the sink then only writes a validity byte for nulls (most values are known).
    for (const v of out.valid) v.fill(1, outRow, outRow + order.length);
  }
  const w = emptyWindowSums();
  const threshold = params === null ? 0 : params.revengeThreshold;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const h = histories[customers[i]!]!;
    h.bind(essential);
    const info = dates[dateIds[i]!]!;
    const known = amountValid[i]!;
    const a = known === 1 ? amount[i]! : 0;
    ROW[ROW_AMOUNT] = a;
    ROW[ROW_RATIO] = credit[i]! > 0 ? available[i]! / credit[i]! : NaN;
    // What the row's own features compare against: the customer before this row.
    const prevDay = h.lastDate === null ? NaN : h.lastDay;
    const prevMean = h.amountCount > 0 ? h.amountSum / h.amountCount : NaN;
    const g = groupIds[i]!;
    h.foldRow(info.day, dateDict[dateIds[i]!]!, known, groupDict[g]!, groupNonEssential[g]!);
    if (sink !== null) {
      h.window(info.day, threshold, w);
      sink.write(outRow + k, i, info, known, prevDay, prevMean, w);
    }
  }
}

/** Writes one row of features: the per-batch lookup tables plus the hoisted output arrays. */
class BatchSink {
  private readonly cohortMonths: Float64Array;
  private readonly essential: Uint8Array;
  private readonly abroad: Uint8Array;
  private readonly cityPlace: Int32Array;
  private readonly merchantCityPlace: Int32Array;
  private readonly values: Float64Array[];
  private readonly valid: Uint8Array[];
  private readonly text: string[][];
  private readonly codes: Int32Array[];
  private readonly categoryCodes: boolean;
  /** One row of numeric features by feature index (a typed array: stores of doubles never box). */
  private readonly x = new Float64Array(FEATURE_COUNT);

  constructor(
    private readonly cols: KernelColumns,
    params: FeatureParams,
    out: FeatureColumns,
  ) {
    const essential = essentialSet(params);
    this.cohortMonths = Float64Array.from(cols.account_cohort.dict, cohortMonthsOf);
    this.essential = Uint8Array.from(cols.merchant_group.dict, (g) => (essential.has(g) ? 1 : 0));
    const home = normalisePlace(params.homeCountry);
    this.abroad = Uint8Array.from(cols.merchant_country.dict, (c) =>
      c.trim() !== '' && normalisePlace(c) !== home ? 1 : 0,
    );
    const places = new Map<string, number>();
    this.cityPlace = placeIds(cols.city, places);
    this.merchantCityPlace = placeIds(cols.merchant_city, places);
    this.values = out.values;
    this.valid = out.valid;
    this.text = out.text;
    this.codes = out.codes;
    this.categoryCodes = out.categoryCodes;
    if (out.categoryCodes) {
      out.dicts[F.merchant_group] = cols.merchant_group.dict;
      out.dicts[F.sex] = cols.sex.dict;
      out.dicts[F.state] = cols.state.dict;
    }
  }

  /**
   * The row's numeric features (from the scratch row `x`, indexed by feature) into the columns;
   * NaN stands for null (no feature value is ever NaN: all are finite or null). The row's validity
   * bytes were set to 1 before the batch, so only nulls write one.
   */
  private flush(row: number): void {
    const x = this.x;
    for (let j = 0; j < NUMERIC.length; j++) {
      const f = NUMERIC[j]!;
      const v = x[f]!;
      if (v !== v) this.valid[f]![row] = 0;
      else this.values[f]![row] = v;
    }
  }

  /** Category value `id` of `dict` at (row, feature f): a code in codes mode, else the string (−1 = null). */
  private category(row: number, f: number, id: number, dict: readonly string[]): void {
    if (id < 0) this.valid[f]![row] = 0;
    else if (this.categoryCodes) this.codes[f]![row] = id;
    else this.text[f]![row] = dict[id]!;
  }

  /**
   * One row's features (amount and available ratio in {@link ROW}): `w` is the customer's state
   * with this row folded in; `prevDay` (NaN: none) and `prevMean` (NaN: none) describe it before.
   */
  write(row: number, i: number, info: DayInfo, known: number, prevDay: number, prevMean: number, w: WindowSums): void {
    const c = this.cols;
    const x = this.x;
    const a = ROW[ROW_AMOUNT]!;
    const ratio = ROW[ROW_RATIO]!;
    const dow = info.dow;
    const dom = info.dom;
    const group = c.merchant_group.ids[i]!;
    const country = c.merchant_country.ids[i]!;
    const merchantCity = c.merchant_city.ids[i]!;
    const merchantPlace = merchantCity < 0 ? -1 : this.merchantCityPlace[merchantCity]!;
    const mean = prevMean;
    x[F.amount] = known === 1 ? a : NaN;
    x[F.log_amount] = known === 1 ? Math.log1p(a) : NaN;
    x[F.amount_missing] = known === 1 ? 0 : 1;
    x[F.day_of_week] = dow;
    x[F.day_of_month] = dom;
    x[F.month] = info.month;
    x[F.is_weekend] = dow === 0 || dow === 6 ? 1 : 0;
    x[F.is_month_start] = dom <= 3 ? 1 : 0;
    x[F.is_month_end] = info.monthEnd ? 1 : 0;
    x[F.is_holiday] = info.holiday ? 1 : 0;
    this.category(row, F.merchant_group, group, c.merchant_group.dict);
    x[F.is_essential] = this.essential[group]!;
    x[F.merchant_abroad] = country < 0 ? 0 : this.abroad[country]!;
    x[F.merchant_city_differs] = merchantPlace >= 0 && merchantPlace !== this.cityPlace[c.city.ids[i]!]! ? 1 : 0;
    x[F.account_age_months] = info.year * 12 + info.month - this.cohortMonths[c.account_cohort.ids[i]!]!;
    x[F.age] = c.age[i]!;
    this.category(row, F.sex, c.sex.ids[i]!, c.sex.dict);
    this.category(row, F.state, c.state.ids[i]!, c.state.dict);
    x[F.credit_limit] = c.credit_limit[i]!;
    x[F.available_ratio] = ratio;
    x[F.day_min_available_ratio] = w.dayMinRatio;
    x[F.day_count] = w.dayCount;
    x[F.day_sum] = w.daySum;
    x[F.hist_count_7d] = w.count7;
    x[F.hist_sum_7d] = w.sum7;
    x[F.hist_count_30d] = w.count30;
    x[F.hist_sum_30d] = w.sum30;
    x[F.hist_nonessential_share_30d] = w.sum30 > 0 ? w.nonEssential30 / w.sum30 : NaN;
    x[F.active_days_30d] = w.activeDays30;
    x[F.revenge_count_today] = w.revengeToday;
    x[F.revenge_count_7d] = w.revenge7;
    x[F.revenge_count_30d] = w.revenge30;
    x[F.days_since_revenge] = w.daysSinceRevenge;
    x[F.min_available_ratio_7d] = w.minRatio7;
    x[F.mean_available_ratio_30d] = w.meanRatio30;
    x[F.available_ratio_trend_30d] = w.dayMinRatio - w.meanRatio30;
    x[F.days_since_prev] = prevDay !== prevDay ? NaN : info.day - prevDay;
    x[F.amount_to_running_mean] = known !== 1 || mean !== mean || mean === 0 ? NaN : a / mean;
    this.flush(row);
  }
}

const ONE = Int32Array.of(0);
const NULL_STRINGS: KernelStrings = { ids: Int32Array.of(-1), dict: [] };
const one = (v: string | null): KernelStrings => (v === null ? NULL_STRINGS : { ids: ONE, dict: [v] });

/** A transaction as a one-row batch (the online path into {@link computeBatchInto}). */
function oneRowColumns(txn: FeatureInput): KernelColumns {
  return {
    length: 1,
    account_cohort: one(txn.account_cohort),
    city: one(txn.city),
    state: one(txn.state),
    sex: one(txn.sex),
    date: one(txn.date),
    merchant_group: one(txn.merchant_group),
    merchant_city: one(txn.merchant_city),
    merchant_country: one(txn.merchant_country),
    age: Float64Array.of(txn.age),
    credit_limit: Float64Array.of(txn.credit_limit),
    available_limit: Float64Array.of(txn.available_limit),
    amount: Float64Array.of(txn.amount ?? 0),
    amount_valid: Uint8Array.of(txn.amount === null ? 0 : 1),
  };
}

/**
 * Compute every declared feature of one transaction as of just after it: from the transaction
 * itself and the customer's state before it (= the customer's earlier transactions), with the
 * transaction folded in (the state passed in is not modified). Pure: the same function serves the
 * offline pipeline and the online API, so training and serving cannot disagree (it is
 * {@link computeBatchInto} on a one-row batch).
 *
 * Point-in-time definitions (D = the transaction's date, in whole days):
 * - "up to this one" means this transaction and those before it in the order (date, source_file,
 *   source_line); rows of the same day that come earlier in the source are included, later ones are not.
 *   For a customer's last row of a day (the snapshot) that is the whole day.
 * - 7-day window: D − 7 < date ≤ D (so D−6 … D); 30-day window: D − 30 < date ≤ D; day: date = D.
 * - `hist_count_*`, `day_count` count every transaction in the window, including rows whose amount is
 *   missing; `hist_sum_*`, `day_sum` sum known amounts (a missing amount contributes 0).
 * - `hist_nonessential_share_30d` = non-essential 30-day sum / 30-day sum; null when the sum is 0.
 * - A transaction is flagged when available / credit limit < `revengeThreshold` at a non-essential
 *   group: `revenge_count_*` count them, `days_since_revenge` = D − the latest one's date (30-day window).
 * - `day_min_available_ratio`, `min_available_ratio_7d`, `mean_available_ratio_30d`: the ratios in
 *   the window (null when none is computable); `available_ratio_trend_30d` = day min − 30-day mean.
 * - `days_since_prev` = D − date of the previous transaction (0 on the same day); null for the first.
 * - `amount_to_running_mean` = amount / mean of all earlier known amounts; null when the amount is
 *   missing, there is no earlier amount, or the mean is 0.
 *
 * @example
 * const s = updateCustomerState(emptyCustomerState(), first);
 * computeFeatures(second, s, DEFAULT_FEATURE_PARAMS).hist_count_7d; // 2 if first is within 7 days
 */
export function computeFeatures(txn: FeatureInput, state: CustomerState, params: FeatureParams): FeatureValues {
  const out = oneRow ?? (oneRow = new FeatureColumns(1));
  computeFeaturesInto(txn, state, params, out, 0);
  return out.row(0);
}
let oneRow: FeatureColumns | undefined;

/**
 * {@link computeFeatures} written into row `row` of a columnar sink instead of a new object
 * (the state is not modified).
 */
export function computeFeaturesInto(
  txn: FeatureInput,
  state: CustomerState,
  params: FeatureParams,
  out: FeatureColumns,
  row: number,
): void {
  computeBatchInto(oneRowColumns(txn), ONE, ONE, [CustomerHistory.fromState(state)], params, out, row);
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

/**
 * Fold a transaction into a state in place and return it (the online path; {@link updateCustomerState}
 * copies first). Runs {@link computeBatchInto} without computing, on the packed form of the state.
 * Transactions must be folded in (date, source_file, source_line) order.
 */
export function foldCustomerState(state: CustomerState, txn: FeatureInput): CustomerState {
  const h = CustomerHistory.fromState(state);
  computeBatchInto(oneRowColumns(txn), ONE, ONE, [h], null, null);
  return Object.assign(state, h.toState());
}

/** A deep copy of a state (states are plain JSON values). */
export function cloneCustomerState(state: CustomerState): CustomerState {
  return { ...state, recent: state.recent.map((r) => [r[0], r[1], r[2], r[3]] as RecentTransaction) };
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
