import { averagePrecision, brierScore, confusionAt, expectedCalibrationError, rocAuc } from '@bolsillo/core';
import type { ValueMatrix } from '@bolsillo/schema';

/** A scored transaction whose true label is known (from feedback or from a computable target). */
export interface LabelledOutcome {
  readonly date: string;
  readonly modelVersion: string;
  readonly probability: number;
  readonly actual: boolean;
  readonly source: 'feedback' | 'computed';
}

/** The value matrix written by evaluate in `decision.json`: value of each confusion cell per transaction. */
export type { ValueMatrix };

/** Metrics of one model version on a set of labelled outcomes. */
export interface MetricsPoint {
  readonly n: number;
  readonly positives: number;
  readonly rocAuc: number | null;
  readonly prAuc: number | null;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly ece: number | null;
  readonly brier: number | null;
}

/** One day of a version's rolling metrics. */
export interface MetricsSeriesPoint extends MetricsPoint {
  readonly date: string;
}

/** Metrics over time for one model version. */
export interface VersionMetrics {
  readonly modelVersion: string;
  readonly threshold: number;
  readonly overall: MetricsPoint;
  /** The last `windowDays` days, what alarms look at. */
  readonly recent: MetricsPoint;
  readonly series: readonly MetricsSeriesPoint[];
}

/** Day count between two ISO dates (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** Metrics of outcomes at a threshold; ranking metrics are null when one class is absent. */
export function metricsOf(outcomes: readonly LabelledOutcome[], threshold: number): MetricsPoint {
  const n = outcomes.length;
  const y = outcomes.map((o) => (o.actual ? 1 : 0));
  const p = outcomes.map((o) => o.probability);
  const positives = y.reduce<number>((s, v) => s + v, 0);
  if (!n) return { n, positives, rocAuc: null, prAuc: null, precision: null, recall: null, ece: null, brier: null };
  const both = positives > 0 && positives < n;
  const c = confusionAt(y, p, threshold);
  return {
    n,
    positives,
    rocAuc: both ? rocAuc(y, p) : null,
    prAuc: positives > 0 ? averagePrecision(y, p) : null,
    precision: c.tp + c.fp ? c.precision : null,
    recall: positives ? c.recall : null,
    ece: expectedCalibrationError(y, p),
    brier: brierScore(y, p),
  };
}

/**
 * Rolling metrics per model version: for every day with labels, the metrics over that day and the
 * `windowDays − 1` days before it.
 */
export function computeModelMetrics(
  outcomes: readonly LabelledOutcome[],
  thresholds: Readonly<Record<string, number>>,
  windowDays: number,
): VersionMetrics[] {
  const byVersion = new Map<string, LabelledOutcome[]>();
  for (const o of outcomes) {
    const list = byVersion.get(o.modelVersion) ?? [];
    list.push(o);
    byVersion.set(o.modelVersion, list);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([version, list]) => {
      const threshold = thresholds[version] ?? 0.5;
      const sorted = [...list].sort((a, b) => a.date.localeCompare(b.date));
      const dates = [...new Set(sorted.map((o) => o.date))];
      const series = dates.map((date) => ({
        date,
        ...metricsOf(
          sorted.filter((o) => o.date <= date && daysBetween(o.date, date) < windowDays),
          threshold,
        ),
      }));
      const last = dates[dates.length - 1]!;
      return {
        modelVersion: version,
        threshold,
        overall: metricsOf(sorted, threshold),
        recent: metricsOf(
          sorted.filter((o) => daysBetween(o.date, last) < windowDays),
          threshold,
        ),
        series,
      };
    });
}

/** Value of one day (or a total) for one model version. */
export interface ValuePoint {
  readonly date: string;
  readonly modelVersion: string;
  readonly n: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
  readonly value: number;
  readonly valuePerTransaction: number;
}

/**
 * The evaluate stage's value matrix applied to labelled outcomes: value per day and per version,
 * plus one `date: 'total'` point per version. Versions without a matrix are skipped.
 */
export function computeValue(
  outcomes: readonly LabelledOutcome[],
  thresholds: Readonly<Record<string, number>>,
  matrices: Readonly<Record<string, ValueMatrix>>,
): ValuePoint[] {
  const cells = new Map<
    string,
    { date: string; modelVersion: string; tp: number; fp: number; fn: number; tn: number }
  >();
  for (const o of outcomes) {
    if (!matrices[o.modelVersion]) continue;
    const predicted = o.probability >= (thresholds[o.modelVersion] ?? 0.5);
    for (const date of [o.date, 'total']) {
      const key = `${o.modelVersion}|${date}`;
      const c = cells.get(key) ?? { date, modelVersion: o.modelVersion, tp: 0, fp: 0, fn: 0, tn: 0 };
      if (predicted && o.actual) c.tp++;
      else if (predicted) c.fp++;
      else if (o.actual) c.fn++;
      else c.tn++;
      cells.set(key, c);
    }
  }
  return [...cells.values()]
    .map((c) => {
      const m = matrices[c.modelVersion]!;
      const n = c.tp + c.fp + c.fn + c.tn;
      const value = c.tp * m.tp + c.fp * m.fp + c.fn * m.fn + c.tn * m.tn;
      return { ...c, n, value, valuePerTransaction: n ? value / n : 0 };
    })
    .sort((a, b) => a.modelVersion.localeCompare(b.modelVersion) || a.date.localeCompare(b.date));
}
