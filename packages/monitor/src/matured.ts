import fs from 'node:fs';
import {
  DEFAULT_FEATURE_PARAMS,
  epochDay,
  listPartitions,
  parquetToTable,
  readContract,
  revengeFlagOfRatio,
  type DataLayout,
  type FlagRule,
} from '@bolsillo/core';
import { FeatureStoreManifestSchema, MasterManifestSchema } from '@bolsillo/schema';
import type { WindowRows } from './io';

/**
 * What the data says about outcomes, from the feature store itself: per customer the days with a
 * flagged transaction, per customer-day the snapshot's `day_count` (the day's last row), and the
 * last date of the data. A snapshot dated d matures when d + H ≤ `dataEnd`: before that its
 * outcome (a flagged transaction on d+1 … d+H) is not known yet.
 */
export interface OutcomeIndex {
  readonly flaggedDays: ReadonlyMap<string, readonly number[]>;
  readonly dayTotals: ReadonlyMap<string, number>;
  readonly dataEnd: string | null;
}

const dayKey = (customer: string, date: string) => `${customer}|${date}`;

/** Build the index from feature-store partitions dated `from` and later (the flag under `rule`). */
export function readOutcomeIndex(featureStore: string, from: string | undefined, rule: FlagRule): OutcomeIndex {
  const flagged = new Map<string, number[]>();
  const totals = new Map<string, number>();
  let dataEnd: string | null = null;
  for (const part of listPartitions(featureStore, from ? { from } : {})) {
    if (dataEnd === null || part.date > dataEnd) dataEnd = part.date;
    for (const file of part.files) {
      const t = parquetToTable(fs.readFileSync(file), {
        columns: ['customer_key', 'date', 'day_count', 'available_ratio', 'merchant_group'],
      });
      const customer = t.getChild('customer_key')!;
      const count = t.getChild('day_count')!;
      const ratio = t.getChild('available_ratio')!;
      const group = t.getChild('merchant_group')!;
      const day = epochDay(part.date);
      for (let i = 0; i < t.numRows; i++) {
        const c = String(customer.get(i));
        const k = dayKey(c, part.date);
        totals.set(k, Math.max(totals.get(k) ?? 0, Number(count.get(i))));
        const r = ratio.get(i) as number | null;
        if (revengeFlagOfRatio(r, (group.get(i) as string | null) ?? null, rule).flagged) {
          let list = flagged.get(c);
          if (!list) flagged.set(c, (list = []));
          if (list.at(-1) !== day) list.push(day);
        }
      }
    }
  }
  for (const list of flagged.values()) list.sort((a, b) => a - b);
  return { flaggedDays: flagged, dayTotals: totals, dataEnd };
}

/** The matured snapshots among `rows` and their outcomes; `pending` counts snapshots not matured yet. */
export interface MaturedSnapshots {
  readonly rows: Record<string, unknown>[];
  readonly actual: boolean[];
  readonly pending: number;
}

/**
 * Pure: keep the rows that are snapshots (their customer's last row of the day) whose horizon has
 * passed, labelled with the forecast target: a flagged transaction of that customer on d+1 … d+H.
 */
export function maturedSnapshots(
  rows: readonly Record<string, unknown>[],
  index: OutcomeIndex,
  horizonDays: number,
): MaturedSnapshots {
  const out: Record<string, unknown>[] = [];
  const actual: boolean[] = [];
  let pending = 0;
  const end = index.dataEnd === null ? -Infinity : epochDay(index.dataEnd);
  for (const r of rows) {
    const c = String(r.customer_key);
    const date = String(r.date);
    if (Number(r.day_count) !== index.dayTotals.get(dayKey(c, date))) continue;
    const d = epochDay(date);
    if (d + horizonDays > end) {
      pending++;
      continue;
    }
    const days = index.flaggedDays.get(c) ?? [];
    out.push(r);
    actual.push(days.some((f) => f > d && f <= d + horizonDays));
  }
  return { rows: out, actual, pending };
}

/** Forecast horizon used when there is no master table (the build params' default). */
const DEFAULT_HORIZON_DAYS = 7;

/**
 * The window's matured snapshots, labelled: the horizon from the reference master table's manifest,
 * the flag rule from the feature store's params (the rule its history features were computed with),
 * the outcomes from the feature store from the window's first day on.
 */
export function readMaturedWindow(
  layout: DataLayout,
  referenceHash: string | null,
  window: Pick<WindowRows, 'rows' | 'dates'>,
): MaturedSnapshots & { readonly horizonDays: number } {
  const horizonDays = referenceHash
    ? (readContract(layout.masterManifest(referenceHash), MasterManifestSchema, null)?.target.horizon_days ??
      DEFAULT_HORIZON_DAYS)
    : DEFAULT_HORIZON_DAYS;
  const params = {
    ...DEFAULT_FEATURE_PARAMS,
    ...readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params,
  };
  const rule = { threshold: params.revengeThreshold, essential_groups: params.essentialGroups };
  const matured = window.rows.length
    ? maturedSnapshots(window.rows, readOutcomeIndex(layout.featureStore, window.dates[0], rule), horizonDays)
    : { rows: [], actual: [], pending: 0 };
  return { ...matured, horizonDays };
}
