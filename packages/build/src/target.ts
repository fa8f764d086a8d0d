import { epochDay, revengeFlagOfRatio, type FlagRule } from '@bolsillo/core';
import { FLAG, TARGET } from '@bolsillo/schema';
import { column, type Frame } from './frame';

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
    const g = group.get(i);
    const f = revengeFlagOfRatio(r, typeof g === 'string' ? g : null, params);
    values[i] = f.flagged ? 1 : 0;
    if (f.flagged) positives++;
    else negatives++;
    if (f.non_essential && roundHalfEven(r * 100) < pctThreshold) rounded++;
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
  for (let i = 0; i < n; i++) {
    const iso = String(date.get(i));
    let d = dayOf.get(iso);
    if (d === undefined) dayOf.set(iso, (d = epochDay(iso)));
    days[i] = d;
    if (d < start) start = d;
    if (d > end) {
      end = d;
      endDate = iso;
    }
    const key = String(customer.get(i));
    let c = customerOf.get(key);
    if (c === undefined) customerOf.set(key, (c = customerOf.size));
    customers[i] = c;
  }
  if (dataEnd !== undefined) {
    end = epochDay(dataEnd);
    endDate = dataEnd;
  }
  // Per customer-day: the snapshot row (largest day_count) and whether any row is flagged.
  const snapshotRow = new Map<number, number>();
  const flaggedDays: number[][] = Array.from({ length: customerOf.size }, () => []);
  const span = end - start + 1;
  const dayKey = (c: number, d: number) => c * span + (d - start);
  for (let i = 0; i < n; i++) {
    const key = dayKey(customers[i]!, days[i]!);
    const best = snapshotRow.get(key);
    if (best === undefined || Number(dayCount.get(i)) > Number(dayCount.get(best))) snapshotRow.set(key, i);
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
