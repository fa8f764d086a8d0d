import { epochDay, revengeFlagOfRatio, type FlagRule } from '@bolsillo/core';
import { FLAG, TARGET } from '@bolsillo/schema';
import { column, NumberColumn, StringColumn, type Frame } from './frame';

/** The flag of each transaction: 1 flagged, 0 not flagged, -1 cannot be computed (no usable ratio). */
export interface FlagResult {
  readonly name: typeof FLAG;
  readonly values: Int8Array;
  readonly flagged: number;
  readonly not_flagged: number;
  /** Rows whose ratio cannot be computed, by reason. */
  readonly excluded: { readonly total: number; readonly missing_ratio: number; readonly no_credit_limit: number };
  /**
   * Flagged rows under the original prototype's rule, which rounded the percentage to an integer
   * (Python's round-half-even) before comparing it. Kept only to document the difference.
   */
  readonly positives_rounded_rule: number;
}

/** Python 3 `round(x)`: half to even. The prototype used it, so parity needs it too. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The authorisation-time flag of every transaction: the available share of the limit, compared
 * unrounded, is below the threshold, and the merchant group is not essential. A row without a
 * usable ratio (total limit 0 or missing) gets -1 and is counted, never guessed.
 *
 * @example computeFlag(frame, { threshold: 0.2, essential_groups: ['SUPERMERCADOS'] }).flagged
 */
export function computeFlag(frame: Frame, params: FlagRule): FlagResult {
  const ratio = column(frame, 'available_ratio');
  const limit = column(frame, 'credit_limit');
  const group = column(frame, 'merchant_group');
  const values = new Int8Array(frame.length);
  let positives = 0;
  let negatives = 0;
  let missingRatio = 0;
  let noLimit = 0;
  let rounded = 0;
  const pctThreshold = params.threshold * 100;
  // The merchant group's part of the rule once per distinct group (dictionary code), not per row.
  const groupCode =
    group instanceof StringColumn ? group.codes : Int32Array.from({ length: frame.length }, (_, i) => i);
  const groupValue = (c: number): string | null => {
    const g = group instanceof StringColumn ? (c < 0 ? null : group.dict[c]!) : group.get(c);
    return typeof g === 'string' ? g : null;
  };
  const nonEssentialOf = new Map<number, boolean>();
  for (let i = 0; i < frame.length; i++) {
    const l = limit.get(i);
    const r = ratio.get(i);
    if (typeof l !== 'number' || !(l > 0)) {
      noLimit++;
      values[i] = -1;
      continue;
    }
    if (typeof r !== 'number' || !Number.isFinite(r)) {
      missingRatio++;
      values[i] = -1;
      continue;
    }
    const code = groupCode[i]!;
    let nonEssential = nonEssentialOf.get(code);
    if (nonEssential === undefined) {
      nonEssential = revengeFlagOfRatio(r, groupValue(code), params).non_essential;
      if (group instanceof StringColumn) nonEssentialOf.set(code, nonEssential);
    }
    // The rule: below the threshold (the ratio's part, with no group) and not essential.
    const flagged = revengeFlagOfRatio(r, null, params).flagged === true && nonEssential;
    values[i] = flagged ? 1 : 0;
    if (flagged) positives++;
    else negatives++;
    if (nonEssential && roundHalfEven(r * 100) < pctThreshold) rounded++;
  }
  return {
    name: FLAG,
    values,
    flagged: positives,
    not_flagged: negatives,
    excluded: { total: missingRatio + noLimit, missing_ratio: missingRatio, no_credit_limit: noLimit },
    positives_rounded_rule: rounded,
  };
}

/** Transaction columns the target is computed from (leakage check (a) looks for features built on them). */
export const TARGET_SOURCES = ['available_limit', 'credit_limit', 'merchant_group'] as const;

/** The forecast target of every row: 1 / 0 for a snapshot with a known outcome, -1 otherwise. */
export interface ForecastTarget {
  readonly name: typeof TARGET;
  readonly horizon_days: number;
  readonly values: Int8Array;
  /** Customer-days (snapshots) in the data, and those whose horizon runs past `data_end` (censored). */
  readonly snapshots: number;
  readonly censored: number;
  readonly positives: number;
  readonly negatives: number;
  /** Last date in the data: a snapshot dated d is labelled only when d + horizon_days ≤ data_end. */
  readonly data_end: string | null;
}

/**
 * The forecast target on snapshots. A snapshot is a customer's last row of a day (the row whose
 * `day_count` is the day's total: its history features cover the whole day, whatever the order of
 * the rows within it). Its target is 1 when the customer has a flagged row dated d+1 … d+H, else 0;
 * snapshots with d + H past the last date of the data are censored (-1: the outcome is not known
 * yet), as are rows that are not snapshots. A future row whose flag cannot be computed counts as
 * not flagged. `dataEnd`, when given, is the last date of the whole data (a shard's rows may end
 * earlier); by default the last date of `frame`.
 *
 * @example forecastTarget(frame, computeFlag(frame, rule).values, 7).positives
 */
export function forecastTarget(frame: Frame, flags: Int8Array, horizonDays: number, dataEnd?: string): ForecastTarget {
  const n = frame.length;
  const customer = column(frame, 'customer_key');
  const date = column(frame, 'date');
  const dayCount = column(frame, 'day_count');
  const days = new Int32Array(n);
  const customers = new Int32Array(n);
  const dayOf = new Map<string, number>();
  const customerOf = new Map<string, number>();
  let start = Infinity;
  let end = -Infinity;
  let endDate: string | null = null;
  // Dictionary-coded dates and customers are converted once per code, not once per row.
  const dayOfCode = date instanceof StringColumn ? new Float64Array(date.dict.length).fill(NaN) : null;
  const customerOfCode = customer instanceof StringColumn ? new Int32Array(customer.dict.length).fill(-1) : null;
  for (let i = 0; i < n; i++) {
    let iso: string;
    let d: number;
    const dc = dayOfCode ? (date as StringColumn).codes[i]! : -1;
    if (dayOfCode && dc >= 0 && !Number.isNaN(dayOfCode[dc]!)) {
      d = dayOfCode[dc]!;
      iso = (date as StringColumn).dict[dc]!;
    } else {
      iso = String(date.get(i));
      let known = dayOf.get(iso);
      if (known === undefined) dayOf.set(iso, (known = epochDay(iso)));
      d = known;
      if (dayOfCode && dc >= 0) dayOfCode[dc] = d;
    }
    days[i] = d;
    if (d < start) start = d;
    if (d > end) {
      end = d;
      endDate = iso;
    }
    const cc = customerOfCode ? (customer as StringColumn).codes[i]! : -1;
    let c = cc >= 0 ? customerOfCode![cc]! : -1;
    if (c < 0) {
      const key = String(customer.get(i));
      let known = customerOf.get(key);
      if (known === undefined) customerOf.set(key, (known = customerOf.size));
      c = known;
      if (cc >= 0) customerOfCode![cc] = c;
    }
    customers[i] = c;
  }
  if (dataEnd !== undefined) {
    end = epochDay(dataEnd);
    endDate = dataEnd;
  }
  const countAt =
    dayCount instanceof NumberColumn && !dayCount.valid
      ? (i: number) => dayCount.values[i]!
      : (i: number) => Number(dayCount.get(i));
  // Per customer-day: the snapshot row (largest day_count) and whether any row is flagged.
  const snapshotRow = new Map<number, number>();
  const flaggedDays: number[][] = Array.from({ length: customerOf.size }, () => []);
  const span = end - start + 1;
  const dayKey = (c: number, d: number) => c * span + (d - start);
  for (let i = 0; i < n; i++) {
    const key = dayKey(customers[i]!, days[i]!);
    const best = snapshotRow.get(key);
    if (best === undefined || countAt(i) > countAt(best)) snapshotRow.set(key, i);
    if (flags[i] === 1) flaggedDays[customers[i]!]!.push(days[i]!);
  }
  for (const list of flaggedDays) list.sort((a, b) => a - b);
  const values = new Int8Array(n).fill(-1);
  let censored = 0;
  let positives = 0;
  let negatives = 0;
  for (const i of snapshotRow.values()) {
    const d = days[i]!;
    if (d + horizonDays > end) {
      censored++;
      continue;
    }
    // First flagged day after d: a positive when it falls within the horizon.
    const list = flaggedDays[customers[i]!]!;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! <= d) lo = mid + 1;
      else hi = mid;
    }
    const y = lo < list.length && list[lo]! <= d + horizonDays ? 1 : 0;
    values[i] = y;
    if (y) positives++;
    else negatives++;
  }
  return {
    name: TARGET,
    horizon_days: horizonDays,
    values,
    snapshots: snapshotRow.size,
    censored,
    positives,
    negatives,
    data_end: endDate,
  };
}
