import { Type, type Static } from '@sinclair/typebox';
import { averagePrecision, rocAuc, seededRandom } from '@bolsillo/core';
import type { DriftResult } from './drift';
import type { LabelledOutcome } from './performance';

const DriftRuleSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('drift'),
    description: Type.Optional(Type.String()),
    action: Type.Literal('retrain'),
    psi_min_features: Type.Integer({
      minimum: 1,
      description: 'Fire when at least this many features have PSI above their threshold…',
    }),
    share_drifted_min: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: '…or when at least this share of features is drifted by its test.',
      }),
    ),
    consecutive_runs: Type.Integer({
      minimum: 1,
      description: 'The condition must hold on this many monitor runs in a row.',
    }),
    min_rows: Type.Integer({ minimum: 1, description: 'Windows with fewer rows are not judged.' }),
  },
  { additionalProperties: false },
);

const MetricSchema = Type.Union([Type.Literal('pr_auc'), Type.Literal('roc_auc')]);

const PerformanceRuleSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('performance_drop'),
    description: Type.Optional(Type.String()),
    action: Type.Literal('rollback'),
    metric: MetricSchema,
    max_drop: Type.Number({
      minimum: 0,
      description: "Fire when the champion's live metric is below its evaluation by more than this.",
    }),
    min_labels: Type.Integer({ minimum: 1 }),
    consecutive_runs: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

const ChallengerRuleSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('challenger_better'),
    description: Type.Optional(Type.String()),
    action: Type.Literal('promote'),
    metric: MetricSchema,
    min_labels: Type.Integer({ minimum: 1, description: 'Labels needed on each of champion and challenger.' }),
    alpha: Type.Number({
      exclusiveMinimum: 0,
      maximum: 0.5,
      description: 'One-sided bootstrap significance of challenger > champion.',
    }),
    bootstrap: Type.Integer({ minimum: 50 }),
    seed: Type.Integer(),
    consecutive_runs: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

/** The alarm policy file (`packages/monitor/policy.json`). */
export const PolicySchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    cooldown_runs: Type.Integer({
      minimum: 0,
      description: 'Runs after a rule acted during which it cannot act again.',
    }),
    rules: Type.Array(Type.Union([DriftRuleSchema, PerformanceRuleSchema, ChallengerRuleSchema])),
  },
  { $id: 'MonitorPolicy', additionalProperties: false },
);
export type Policy = Static<typeof PolicySchema>;
export type PolicyRule = Policy['rules'][number];

/** Per-rule memory between runs (`monitoring/state.json`): what makes the alarms hysteretic. */
export interface RuleState {
  /** Runs in a row on which the condition held. */
  consecutive: number;
  /** Latched after acting; cleared only once the condition has been false on a run (re-arm). */
  latched: boolean;
  /** Run number on which the rule last acted. */
  lastActionRun: number | null;
}

/** `monitoring/state.json`. */
export interface MonitorState {
  runs: number;
  rules: Record<string, RuleState>;
}

/** An empty state (first run). */
export function emptyState(): MonitorState {
  return { runs: 0, rules: {} };
}

/** What a run observed that the rules look at. */
export interface AlarmInputs {
  readonly drift: {
    readonly rows: number;
    readonly psiAboveCount: number;
    readonly shareDrifted: number;
    readonly features: number;
    readonly driftedFeatures: readonly string[];
  } | null;
  readonly champion: string | null;
  readonly challenger: string | null;
  readonly previous: string | null;
  /** The champion's metrics from evaluation (card / evaluate report), by metric name. */
  readonly championEvaluation: Partial<Record<'pr_auc' | 'roc_auc', number>>;
  /** Labelled outcomes of the recent window, all versions. */
  readonly recentOutcomes: readonly LabelledOutcome[];
}

/** What the drift rules look at of a drift result (null: no drift was computed). */
export function driftInputsOf(result: DriftResult | null): AlarmInputs['drift'] {
  return result
    ? {
        rows: result.rows,
        psiAboveCount: result.psiAboveCount,
        shareDrifted: result.shareDrifted,
        features: result.features.length,
        driftedFeatures: result.features.filter((f) => f.drifted).map((f) => f.feature),
      }
    : null;
}

/** One rule's status after a run. */
export interface AlarmStatus {
  readonly rule: string;
  readonly kind: PolicyRule['kind'];
  readonly action: PolicyRule['action'];
  /** ok: condition false · insufficient: not enough data to judge · pending: true but not for enough runs ·
   *  firing: acting now · latched: acted before, waiting for the condition to clear · cooldown. */
  readonly status: 'ok' | 'insufficient' | 'pending' | 'firing' | 'latched' | 'cooldown';
  readonly condition: boolean;
  readonly consecutive: number;
  readonly message: string;
  readonly values: Readonly<Record<string, number | string | null>>;
}

/** An action the policy asks for. */
export interface PlannedAction {
  readonly rule: string;
  readonly action: 'retrain' | 'rollback' | 'promote';
  readonly version: string | null;
  readonly reason: string;
}

function metricOf(metric: 'pr_auc' | 'roc_auc', outcomes: readonly LabelledOutcome[]): number | null {
  const y = outcomes.map((o) => (o.actual ? 1 : 0));
  const pos = y.reduce<number>((s, v) => s + v, 0);
  if (!pos || (metric === 'roc_auc' && pos === y.length)) return null;
  const p = outcomes.map((o) => o.probability);
  return metric === 'pr_auc' ? averagePrecision(y, p) : rocAuc(y, p);
}

/**
 * One-sided bootstrap p-value that `b`'s metric exceeds `a`'s: resample each set independently
 * (champion and challenger answer different requests) and count how often the difference is ≤ 0.
 */
export function bootstrapBetter(
  metric: 'pr_auc' | 'roc_auc',
  a: readonly LabelledOutcome[],
  b: readonly LabelledOutcome[],
  reps: number,
  seed: number,
): { diff: number | null; pValue: number } {
  const ma = metricOf(metric, a);
  const mb = metricOf(metric, b);
  if (ma === null || mb === null) return { diff: null, pValue: 1 };
  const rand = seededRandom(seed);
  const resample = (xs: readonly LabelledOutcome[]) =>
    Array.from({ length: xs.length }, () => xs[Math.floor(rand() * xs.length)]!);
  let notBetter = 0;
  let valid = 0;
  for (let r = 0; r < reps; r++) {
    const ra = metricOf(metric, resample(a));
    const rb = metricOf(metric, resample(b));
    if (ra === null || rb === null) continue;
    valid++;
    if (rb - ra <= 0) notBetter++;
  }
  return { diff: mb - ma, pValue: valid ? (notBetter + 1) / (valid + 1) : 1 };
}

interface Judged {
  readonly condition: boolean | null; // null: insufficient data
  readonly message: string;
  readonly values: Record<string, number | string | null>;
  readonly version: string | null;
}

function judge(rule: PolicyRule, inputs: AlarmInputs): Judged {
  if (rule.kind === 'drift') {
    const d = inputs.drift;
    if (!d || d.rows < rule.min_rows)
      return {
        condition: null,
        message: `window has ${d?.rows ?? 0} rows (< ${rule.min_rows})`,
        values: { rows: d?.rows ?? 0 },
        version: null,
      };
    const byPsi = d.psiAboveCount >= rule.psi_min_features;
    const byShare = rule.share_drifted_min !== undefined && d.shareDrifted >= rule.share_drifted_min;
    return {
      condition: byPsi || byShare,
      message: `PSI above threshold on ${d.psiAboveCount} features (rule: ≥ ${rule.psi_min_features}); ${(d.shareDrifted * 100).toFixed(0)}% of features drifted${d.driftedFeatures.length ? ` (${d.driftedFeatures.join(', ')})` : ''}`,
      values: { rows: d.rows, psi_above: d.psiAboveCount, share_drifted: d.shareDrifted },
      version: null,
    };
  }
  if (rule.kind === 'performance_drop') {
    const champ = inputs.champion;
    const reference = inputs.championEvaluation[rule.metric];
    const own = inputs.recentOutcomes.filter((o) => o.modelVersion === champ);
    if (!champ || reference === undefined)
      return {
        condition: null,
        message: 'no champion or no evaluation metric to compare with',
        values: {},
        version: null,
      };
    if (own.length < rule.min_labels)
      return {
        condition: null,
        message: `${own.length} labels for the champion (< ${rule.min_labels})`,
        values: { labels: own.length },
        version: null,
      };
    const live = metricOf(rule.metric, own);
    if (live === null)
      return { condition: null, message: 'labels of one class only', values: { labels: own.length }, version: null };
    const drop = reference - live;
    return {
      condition: drop > rule.max_drop,
      message: `champion ${rule.metric} ${live.toFixed(3)} live vs ${reference.toFixed(3)} at evaluation (drop ${drop.toFixed(3)}, rule: > ${rule.max_drop}) on ${own.length} labels`,
      values: { labels: own.length, live, evaluation: reference, drop },
      version: inputs.previous,
    };
  }
  const champ = inputs.champion;
  const chall = inputs.challenger;
  if (!champ || !chall) return { condition: null, message: 'no challenger', values: {}, version: null };
  const a = inputs.recentOutcomes.filter((o) => o.modelVersion === champ);
  const b = inputs.recentOutcomes.filter((o) => o.modelVersion === chall);
  if (a.length < rule.min_labels || b.length < rule.min_labels) {
    return {
      condition: null,
      message: `labels: champion ${a.length}, challenger ${b.length} (need ${rule.min_labels} each)`,
      values: { champion_labels: a.length, challenger_labels: b.length },
      version: chall,
    };
  }
  const { diff, pValue } = bootstrapBetter(rule.metric, a, b, rule.bootstrap, rule.seed);
  return {
    condition: diff !== null && diff > 0 && pValue < rule.alpha,
    message: `challenger − champion ${rule.metric} = ${diff === null ? 'n/a' : diff.toFixed(3)}, bootstrap p = ${pValue.toFixed(3)} (rule: p < ${rule.alpha}) on ${a.length}/${b.length} labels`,
    values: { champion_labels: a.length, challenger_labels: b.length, diff, p_value: pValue },
    version: chall,
  };
}

/**
 * Apply the policy to one run's observations. Pure: the state comes in and the next state goes out.
 * A rule acts when its condition has held for `consecutive_runs` runs, it is not latched (it acted
 * and the condition has not cleared since: hysteresis) and it is out of its cooldown.
 */
export function evaluatePolicy(
  policy: Policy,
  inputs: AlarmInputs,
  state: MonitorState,
): { alarms: AlarmStatus[]; actions: PlannedAction[]; state: MonitorState } {
  const run = state.runs + 1;
  const next: MonitorState = { runs: run, rules: { ...state.rules } };
  const alarms: AlarmStatus[] = [];
  const actions: PlannedAction[] = [];
  for (const rule of policy.rules) {
    const prev = state.rules[rule.id] ?? { consecutive: 0, latched: false, lastActionRun: null };
    const j = judge(rule, inputs);
    const rs: RuleState = { ...prev };
    let status: AlarmStatus['status'];
    if (j.condition === null) {
      // Not enough data: neither evidence for nor against, so the streak and the latch are kept.
      status = 'insufficient';
    } else if (!j.condition) {
      rs.consecutive = 0;
      rs.latched = false;
      status = 'ok';
    } else {
      rs.consecutive = prev.consecutive + 1;
      const cooling = prev.lastActionRun !== null && run - prev.lastActionRun <= policy.cooldown_runs;
      if (rs.latched) status = 'latched';
      else if (rs.consecutive < rule.consecutive_runs) status = 'pending';
      else if (cooling) status = 'cooldown';
      else if ((rule.action === 'rollback' || rule.action === 'promote') && !j.version) {
        status = 'pending';
      } else {
        status = 'firing';
        rs.latched = true;
        rs.lastActionRun = run;
        actions.push({
          rule: rule.id,
          action: rule.action,
          version: rule.action === 'retrain' ? null : j.version,
          reason: `${rule.id}: ${j.message}`,
        });
      }
    }
    next.rules[rule.id] = rs;
    alarms.push({
      rule: rule.id,
      kind: rule.kind,
      action: rule.action,
      status,
      condition: j.condition === true,
      consecutive: rs.consecutive,
      message: j.message,
      values: j.values,
    });
  }
  return { alarms, actions, state: next };
}
