import type { PredictionLogEntry, StageRun } from '@bolsillo/schema';
import { quantile } from './stats';

/** One stage run as a point of the cost time series. */
export interface StageCostPoint {
  readonly stage: string;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly status: string;
}

/** Serving cost of one day from the prediction log. */
export interface ServingCostPoint {
  readonly date: string;
  readonly predictions: number;
  readonly cpuUsMean: number;
  readonly cpuUsP95: number;
  readonly latencyMsP50: number;
  readonly latencyMsP95: number;
}

/** Compute cost: stage runs and serving per day. */
export interface CostReport {
  readonly stages: readonly StageCostPoint[];
  /** Totals per stage (runs, wall and CPU seconds, last peak memory). */
  readonly perStage: readonly {
    stage: string;
    runs: number;
    wallSeconds: number;
    cpuSeconds: number;
    lastPeakRssMb: number;
  }[];
  readonly serving: readonly ServingCostPoint[];
}

/** Cost time series from `monitoring/runs.jsonl` and the prediction log's cpu_us / latency_ms. */
export function computeCosts(
  runs: readonly StageRun[],
  predictions: readonly Pick<PredictionLogEntry, 'ts' | 'cpu_us' | 'latency_ms'>[],
): CostReport {
  const stages = [...runs]
    .sort((a, b) => a.started_at.localeCompare(b.started_at))
    .map((r) => ({
      stage: r.stage,
      startedAt: r.started_at,
      wallSeconds: r.wall_seconds,
      cpuSeconds: r.cpu_seconds,
      peakRssMb: r.peak_rss_mb,
      rowsIn: r.rows_in,
      rowsOut: r.rows_out,
      status: r.status,
    }));
  const perStageMap = new Map<
    string,
    { stage: string; runs: number; wallSeconds: number; cpuSeconds: number; lastPeakRssMb: number }
  >();
  for (const s of stages) {
    const t = perStageMap.get(s.stage) ?? { stage: s.stage, runs: 0, wallSeconds: 0, cpuSeconds: 0, lastPeakRssMb: 0 };
    t.runs++;
    t.wallSeconds += s.wallSeconds;
    t.cpuSeconds += s.cpuSeconds;
    t.lastPeakRssMb = s.peakRssMb;
    perStageMap.set(s.stage, t);
  }
  const byDay = new Map<string, { cpu: number[]; lat: number[] }>();
  for (const p of predictions) {
    // The serving day is when the prediction was made (ts), not the transaction's date.
    const day = p.ts.slice(0, 10);
    const d = byDay.get(day) ?? { cpu: [], lat: [] };
    d.cpu.push(p.cpu_us);
    d.lat.push(p.latency_ms);
    byDay.set(day, d);
  }
  const serving = [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, d]) => ({
      date,
      predictions: d.cpu.length,
      cpuUsMean: d.cpu.reduce((s, x) => s + x, 0) / d.cpu.length,
      cpuUsP95: quantile(d.cpu, 0.95),
      latencyMsP50: quantile(d.lat, 0.5),
      latencyMsP95: quantile(d.lat, 0.95),
    }));
  return { stages, perStage: [...perStageMap.values()], serving };
}
