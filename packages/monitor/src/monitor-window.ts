/** The monitoring window: which feature-store partitions a run compares with the reference. */
import { FEATURE_NAMES } from '@bolsillo/schema';
import { computeDrift, type DriftResult } from './drift';
import { columnsOf, readFeatureRows, type Reference, type WindowRows } from './io';
import { driftParamsOf, type MonitorParams } from './params';

/** Default cap of the window rows read (`window.max_rows`). */
export const DEFAULT_WINDOW_MAX_ROWS = 200_000;

/** How the window was chosen: an explicit range, what arrived after the master table, the latest partitions, or nothing. */
export type WindowKind = 'new-partitions' | 'range' | 'latest-partitions' | 'none';

/** The window to read. */
export interface WindowPlan {
  readonly kind: WindowKind;
  readonly range: { readonly from?: string; readonly to?: string };
}

/**
 * Choose the window (pure): the requested range, else the partitions newer than the master table's
 * last date, else the latest `fallbackDays` partitions, else none. `partitionDates` (ascending) is
 * only asked for when no range was requested.
 */
export function planWindow(
  requested: { readonly from?: string; readonly to?: string },
  partitionDates: () => readonly string[],
  masterLastDate: string | null,
  fallbackDays: number,
): WindowPlan {
  if (requested.from || requested.to) return { kind: 'range', range: { from: requested.from, to: requested.to } };
  const all = partitionDates();
  const newer = masterLastDate ? all.filter((d) => d > masterLastDate) : [];
  if (newer.length) return { kind: 'new-partitions', range: { from: newer[0]! } };
  if (all.length) return { kind: 'latest-partitions', range: { from: all[Math.max(0, all.length - fallbackDays)]! } };
  return { kind: 'none', range: {} };
}

/** The window's rows: every one up to `window.max_rows`, else a seeded uniform sample. */
export function readWindow(featureStore: string, plan: WindowPlan, params: MonitorParams): WindowRows {
  if (plan.kind === 'none') return { rows: [], dates: [], total: 0, sampled: 0 };
  return readFeatureRows(
    featureStore,
    plan.range,
    params.window.max_rows ?? DEFAULT_WINDOW_MAX_ROWS,
    params.window.seed ?? 17,
  );
}

/** Drift of the window's rows against the reference profile, over the features it profiles (pure); null without either. */
export function windowDrift(
  reference: Reference | null,
  window: WindowRows,
  params: MonitorParams,
): DriftResult | null {
  if (!reference || !window.rows.length) return null;
  const features = FEATURE_NAMES.filter((n) => reference.profile.columns[n]);
  return computeDrift(
    reference.profile,
    columnsOf(window.rows, features),
    driftParamsOf(params),
    window.rows.map((r) => String(r.customer_key)),
  );
}

/** Whether a date is inside the window's range. */
export function inWindow(plan: WindowPlan, date: string): boolean {
  return (!plan.range.from || date >= plan.range.from) && (!plan.range.to || date <= plan.range.to);
}
