/**
 * What a monitor run reports (`monitoring/report/*.json`, the page's data) and how it is written:
 * the report files, one drift-history line per run.
 */
import { appendJsonl, writeJsonAtomic, type DataLayout } from '@bolsillo/core';
import type { ValueMatrix } from '@bolsillo/schema';
import type { ActionRecord } from './actions';
import type { CostReport } from './costs';
import type { DataHealthReport } from './data-health';
import type { DriftResult, ScoreDrift } from './drift';
import type { Reference, WindowRows } from './io';
import type { WindowKind } from './monitor-window';
import {
  computeModelMetrics,
  computeValue,
  type LabelledOutcome,
  type ValuePoint,
  type VersionMetrics,
} from './performance';
import type { AlarmStatus } from './policy';

/** `monitoring/report/drift.json`. */
export interface DriftReport {
  readonly generated_at: string;
  readonly reference: { readonly hash: string; readonly rows: number; readonly last_date: string | null } | null;
  readonly window: {
    readonly kind: WindowKind;
    readonly from: string | null;
    readonly to: string | null;
    readonly partitions: number;
    readonly rows: number;
    /** Rows drift and metrics were computed on: `rows`, or the seeded sample size above `window.max_rows`. */
    readonly sampled_rows?: number;
  };
  readonly result: DriftResult | null;
  readonly score: ScoreDrift | null;
}

/** What a monitor run produced (also what the page renders). */
export interface MonitorSummary {
  readonly drift: DriftReport;
  readonly metrics: {
    readonly generated_at: string;
    readonly window_days: number;
    readonly labels: { readonly feedback: number; readonly computed: number };
    readonly versions: readonly VersionMetrics[];
  };
  readonly value: {
    readonly generated_at: string;
    readonly matrices: Readonly<Record<string, ValueMatrix>>;
    readonly points: readonly ValuePoint[];
  };
  readonly costs: CostReport & { readonly generated_at: string };
  readonly alarms: {
    readonly generated_at: string;
    readonly run: number;
    readonly dry_run: boolean;
    readonly alarms: readonly AlarmStatus[];
    readonly actions: readonly ActionRecord[];
    readonly aliases: Record<string, string | null>;
  };
  readonly data: DataHealthReport;
}

/** The drift report of a run (pure). */
export function driftReport(
  ts: string,
  reference: Reference | null,
  masterLastDate: string | null,
  kind: WindowKind,
  window: WindowRows,
  result: DriftResult | null,
  score: ScoreDrift | null,
): DriftReport {
  return {
    generated_at: ts,
    reference: reference ? { hash: reference.hash, rows: reference.profile.rows, last_date: masterLastDate } : null,
    window: {
      kind,
      from: window.dates[0] ?? null,
      to: window.dates[window.dates.length - 1] ?? null,
      partitions: window.dates.length,
      rows: window.total,
      sampled_rows: window.sampled,
    },
    result,
    score,
  };
}

/** The metrics and value reports of labelled outcomes at the versions' thresholds (pure). */
export function performanceReports(
  ts: string,
  outcomes: readonly LabelledOutcome[],
  feedbackCount: number,
  judged: {
    readonly thresholds: Readonly<Record<string, number>>;
    readonly matrices: Readonly<Record<string, ValueMatrix>>;
  },
  windowDays: number,
): Pick<MonitorSummary, 'metrics' | 'value'> {
  return {
    metrics: {
      generated_at: ts,
      window_days: windowDays,
      labels: { feedback: feedbackCount, computed: outcomes.length - feedbackCount },
      versions: computeModelMetrics(outcomes, judged.thresholds, windowDays),
    },
    value: {
      generated_at: ts,
      matrices: judged.matrices,
      points: computeValue(outcomes, judged.thresholds, judged.matrices),
    },
  };
}

/** Write the run's reports, and (when drift was computed) its line of the drift history the page charts. */
export function writeMonitorReports(layout: DataLayout, summary: MonitorSummary): void {
  writeJsonAtomic(layout.monitorDrift, summary.drift);
  writeJsonAtomic(layout.monitorMetrics, summary.metrics);
  writeJsonAtomic(layout.monitorValue, summary.value);
  writeJsonAtomic(layout.monitorCosts, summary.costs);
  writeJsonAtomic(layout.monitorAlarms, summary.alarms);
  writeJsonAtomic(layout.monitorDataHealth, summary.data);
  const drift = summary.drift.result;
  if (drift) {
    appendJsonl(layout.driftHistory, [
      {
        ts: summary.drift.generated_at,
        window_from: summary.drift.window.from,
        window_to: summary.drift.window.to,
        rows: drift.rows,
        share_drifted: drift.shareDrifted,
        psi: Object.fromEntries(drift.features.map((f) => [f.feature, f.psi])),
      },
    ]);
  }
}
