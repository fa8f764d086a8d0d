import { evaluatePolicy, emptyState, type AlarmInputs, type Policy } from './policy';
import { computeModelMetrics, computeValue, type LabelledOutcome } from './performance';
import { computeCosts } from './costs';

const policy: Policy = {
  cooldown_runs: 2,
  rules: [{ id: 'drift', kind: 'drift', action: 'retrain', psi_min_features: 3, consecutive_runs: 2, min_rows: 100 }],
};
const drift = (psiAbove: number, rows = 500): AlarmInputs => ({
  drift: { rows, psiAboveCount: psiAbove, shareDrifted: psiAbove / 10, features: 10, driftedFeatures: [] },
  champion: null,
  challenger: null,
  previous: null,
  championEvaluation: {},
  recentOutcomes: [],
});

describe('alarm policy', () => {
  it('acts after consecutive runs, latches until the condition clears, then respects the cooldown', () => {
    let state = emptyState();
    const statuses: string[] = [];
    const acted: number[] = [];
    for (const [i, psiAbove] of [4, 4, 4, 0, 4, 4, 0, 4, 4].entries()) {
      const r = evaluatePolicy(policy, drift(psiAbove), state);
      state = r.state;
      statuses.push(r.alarms[0]!.status);
      if (r.actions.length) acted.push(i + 1);
    }
    expect(statuses).toEqual(['pending', 'firing', 'latched', 'ok', 'pending', 'firing', 'ok', 'pending', 'firing']);
    expect(acted).toEqual([2, 6, 9]);
  });

  it('does not judge a window below the minimum size, and keeps the streak', () => {
    let state = evaluatePolicy(policy, drift(5), emptyState()).state;
    const small = evaluatePolicy(policy, drift(5, 10), state);
    expect(small.alarms[0]!.status).toBe('insufficient');
    state = small.state;
    expect(evaluatePolicy(policy, drift(5), state).actions).toHaveLength(1);
  });

  it('holds back within the cooldown even after the condition cleared', () => {
    const p: Policy = {
      ...policy,
      cooldown_runs: 5,
      rules: [{ ...policy.rules[0]!, consecutive_runs: 1 } as Policy['rules'][number]],
    };
    let state = emptyState();
    const out: string[] = [];
    for (const v of [4, 0, 4, 0, 4, 4, 0, 0, 4]) {
      const r = evaluatePolicy(p, drift(v), state);
      state = r.state;
      out.push(r.alarms[0]!.status);
    }
    expect(out).toEqual(['firing', 'ok', 'cooldown', 'ok', 'cooldown', 'cooldown', 'ok', 'ok', 'firing']);
  });
});

describe('metrics, value and costs', () => {
  const outcomes: LabelledOutcome[] = [
    { date: '2020-01-01', modelVersion: 'v1', probability: 0.9, actual: true, source: 'feedback' },
    { date: '2020-01-01', modelVersion: 'v1', probability: 0.2, actual: false, source: 'feedback' },
    { date: '2020-01-02', modelVersion: 'v1', probability: 0.7, actual: false, source: 'computed' },
    { date: '2020-01-02', modelVersion: 'v1', probability: 0.1, actual: true, source: 'computed' },
  ];
  it('rolling metrics per version use only the window of days', () => {
    const [v] = computeModelMetrics(outcomes, { v1: 0.5 }, 1);
    expect(v!.series.map((p) => [p.date, p.n, p.rocAuc])).toEqual([
      ['2020-01-01', 2, 1],
      ['2020-01-02', 2, 0],
    ]);
    expect(v!.overall.n).toBe(4);
    expect(v!.overall.precision).toBeCloseTo(0.5);
    expect(v!.overall.recall).toBeCloseTo(0.5);
  });
  it('value applies the matrix to the outcomes per day and in total', () => {
    const points = computeValue(outcomes, { v1: 0.5 }, { v1: { tp: 10, fp: -1, fn: -5, tn: 0 } });
    expect(points.map((p) => [p.date, p.value])).toEqual([
      ['2020-01-01', 10],
      ['2020-01-02', -6],
      ['total', 4],
    ]);
  });
  it('costs aggregate stage runs and serving CPU per day', () => {
    const c = computeCosts(
      [
        {
          stage: 'train',
          started_at: '2020-01-02T00:00:00Z',
          wall_seconds: 3,
          cpu_seconds: 2,
          peak_rss_mb: 100,
          rows_in: 1,
          rows_out: 1,
          status: 'ok',
        },
        {
          stage: 'train',
          started_at: '2020-01-01T00:00:00Z',
          wall_seconds: 1,
          cpu_seconds: 1,
          peak_rss_mb: 90,
          rows_in: 1,
          rows_out: 1,
          status: 'ok',
        },
      ],
      [
        { ts: '2020-01-01T10:00:00Z', cpu_us: 100, latency_ms: 1 },
        { ts: '2020-01-01T11:00:00Z', cpu_us: 300, latency_ms: 3 },
      ],
    );
    expect(c.perStage).toEqual([{ stage: 'train', runs: 2, wallSeconds: 4, cpuSeconds: 3, lastPeakRssMb: 100 }]);
    expect(c.serving[0]).toMatchObject({ date: '2020-01-01', predictions: 2, cpuUsMean: 200 });
  });
});
