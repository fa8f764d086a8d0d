import type { Estimate } from './metrics';
import { METRIC_DIRECTIONS, type ChampionRule, type EvaluateParams, type MetricName } from './params';

/** One check of the gate and how it came out. */
export interface GateCheck {
  readonly kind: 'floor' | 'vs_champion' | 'vs_baseline';
  readonly metric: MetricName;
  readonly split: string;
  readonly passed: boolean;
  readonly reason: string;
  readonly candidate: number;
  readonly reference: number | null;
  /** Candidate minus reference with its customer-level bootstrap interval (comparisons only). */
  readonly delta?: Estimate;
}

/** The strongest baseline on the gate metric and whether the candidate beat it. */
export interface StrongestBaseline {
  readonly id: string;
  readonly kind: string;
  readonly label: string;
  readonly version: string | null;
  readonly metric: MetricName;
  readonly split: string;
  readonly value: number;
  readonly candidate: number;
  /** Candidate minus baseline, customer-level (cluster) bootstrap interval. */
  readonly delta: Estimate;
  readonly margin: number;
  readonly beaten: boolean;
  readonly customers?: number;
  readonly positive_customers?: number;
}

/** Which model should serve after this verdict, and whether the champion alias changes. */
export interface Serve {
  readonly version: string | null;
  readonly role: 'candidate' | 'champion' | 'baseline';
  readonly label: string;
  /** True when the champion alias must move to `version`. */
  readonly change: boolean;
  readonly reason: string;
}

/** The verdict file (`reports/<version>/verdict.json`). Always written, also when there is nothing to compare. */
export interface Verdict {
  readonly version: string;
  readonly champion_before: string | null;
  /** The candidate is promoted. */
  readonly promote: boolean;
  readonly decision: 'promote' | 'reject';
  readonly first_model: boolean;
  readonly reasons: string[];
  readonly checks: GateCheck[];
  /** The strongest baseline and the candidate's delta against it (null when no baseline was compared). */
  readonly strongest_baseline: StrongestBaseline | null;
  /** What serves after the verdict: the candidate, the champion kept, or the strongest baseline. */
  readonly served: Serve;
  /** Evidence too thin to lean on (few customers or positive customers). */
  readonly warnings: string[];
  /** Filled by the adapter once the promotion happened (or was skipped). */
  readonly promoted?: boolean;
  readonly decided_at?: string;
}

/** Point metrics per split for one model, the shape the gate reads. */
export type SplitMetrics = Readonly<Record<string, Readonly<Partial<Record<MetricName, number>>>>>;

/** A model the candidate is compared with: point metrics and the candidate-minus-it delta on the gate split. */
export interface GateReference {
  readonly id: string;
  readonly label: string;
  readonly version: string | null;
  readonly metrics: SplitMetrics;
  /** Candidate minus this model on the gate split, customer-level bootstrap (absent: no interval, the check fails). */
  readonly delta?: Readonly<Partial<Record<MetricName, Estimate>>>;
  /** Baselines: which one (`ratio_rule`, …); the champion: its baseline kind when it is a baseline. */
  readonly kind?: string;
  readonly customers?: number;
  readonly positive_customers?: number;
}

/** What the gate decides on: the candidate, the champion (with its own delta against the strongest baseline) and the baselines. */
export interface GateInput {
  readonly version: string;
  readonly candidate: SplitMetrics;
  readonly champion: (GateReference & { readonly version: string; readonly vs_strongest?: Estimate | null }) | null;
  readonly baselines: readonly GateReference[];
  readonly warnings?: readonly string[];
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
const ci = (e: Estimate) => `${fmt(e.value)} [${fmt(e.lo)}, ${fmt(e.hi)}]`;

/** The improvement interval of a delta in the metric's good direction (so "higher is better" for every metric). */
function improvement(delta: Estimate, metric: MetricName, direction?: 'higher' | 'lower'): Estimate {
  return (direction ?? METRIC_DIRECTIONS[metric]) === 'higher'
    ? delta
    : { value: -delta.value, lo: -delta.hi, hi: -delta.lo };
}

/**
 * The strongest baseline: the best point value of `metric` on `split` (ties: the first in the
 * given order). Null when no baseline has a finite value.
 */
export function strongestBaseline(
  baselines: readonly GateReference[],
  metric: MetricName,
  split: string,
): GateReference | null {
  const higher = METRIC_DIRECTIONS[metric] === 'higher';
  let best: GateReference | null = null;
  for (const b of baselines) {
    const v = b.metrics[split]?.[metric];
    if (v === undefined || !Number.isFinite(v)) continue;
    const bv = best?.metrics[split]?.[metric];
    if (best === null || bv === undefined || (higher ? v > bv : v < bv)) best = b;
  }
  return best;
}

function championCheck(rule: ChampionRule, input: GateInput, split: string): GateCheck {
  const champ = input.champion!;
  const value = input.candidate[split]?.[rule.metric] ?? NaN;
  const ref = champ.metrics[split]?.[rule.metric] ?? NaN;
  const delta = champ.delta?.[rule.metric];
  const bound = rule.bound ?? 'lower';
  let change = NaN;
  let shown = '';
  if (delta) {
    const imp = improvement(delta, rule.metric, rule.direction);
    const scaled =
      rule.mode === 'relative'
        ? { value: imp.value / Math.abs(ref), lo: imp.lo / Math.abs(ref), hi: imp.hi / Math.abs(ref) }
        : imp;
    change = bound === 'lower' ? scaled.lo : scaled.value;
    shown = `improvement ${ci(scaled)}${rule.mode === 'relative' ? ' (share of the champion)' : ''}, customer bootstrap`;
  }
  const passed = Number.isFinite(change) && change >= rule.min_change;
  const reason = `${rule.metric} on ${split}: candidate ${fmt(value)} vs champion ${champ.version} ${fmt(ref)}, ${shown || 'no interval'}; ${bound === 'lower' ? 'lower bound' : 'point'} ${fmt(change)} ${passed ? '≥' : '<'} required ${rule.min_change}: ${passed ? 'passes' : 'fails'}`;
  return {
    kind: 'vs_champion',
    metric: rule.metric,
    split,
    passed,
    reason,
    candidate: value,
    reference: ref,
    ...(delta ? { delta } : {}),
  };
}

/**
 * The competition gate. A candidate is promoted only when it meets the floors, beats the
 * STRONGEST baseline on the gate metric with the lower bound of the customer-level interval of
 * the delta above `margin`, and (when a champion that is not a baseline competes) improves on the
 * champion by the vs_champion rules, also judged on customer-level intervals.
 *
 * What serves afterwards is never a model a rule beats: the candidate when promoted; else the
 * champion when it is a model that itself beats the strongest baseline on these rows, or already
 * is that baseline; else the strongest baseline. Pure; no baselines means no evidence, so no promotion.
 *
 * @example decideGate({ version: 'v2', candidate, champion: null, baselines }, params.gate)
 */
export function decideGate(input: GateInput, gate: EvaluateParams['gate']): Verdict {
  const version = input.version;
  const split = gate.split;
  const metric = gate.metric ?? 'pr_auc';
  const margin = gate.margin ?? 0;
  const checks: GateCheck[] = [];
  const reasons: string[] = [];
  for (const floor of gate.floors) {
    const fsplit = floor.split ?? split;
    const value = input.candidate[fsplit]?.[floor.metric] ?? NaN;
    const higher = METRIC_DIRECTIONS[floor.metric] === 'higher';
    const passed = Number.isFinite(value) && (higher ? value >= floor.value : value <= floor.value);
    const reason = `${floor.metric} on ${fsplit} = ${fmt(value)} ${passed ? 'meets' : 'fails'} the ${higher ? 'floor ≥' : 'ceiling ≤'} ${floor.value}`;
    checks.push({
      kind: 'floor',
      metric: floor.metric,
      split: fsplit,
      passed,
      reason,
      candidate: value,
      reference: floor.value,
    });
  }

  const strongest = strongestBaseline(input.baselines, metric, split);
  let sb: StrongestBaseline | null = null;
  if (strongest) {
    const delta = strongest.delta?.[metric] ?? { value: NaN, lo: NaN, hi: NaN };
    const imp = improvement(delta, metric);
    const beaten = Number.isFinite(imp.lo) && imp.lo > margin;
    const value = strongest.metrics[split]![metric]!;
    const cand = input.candidate[split]?.[metric] ?? NaN;
    sb = {
      id: strongest.id,
      kind: strongest.kind ?? strongest.id,
      label: strongest.label,
      version: strongest.version,
      metric,
      split,
      value,
      candidate: cand,
      delta,
      margin,
      beaten,
      ...(strongest.customers !== undefined
        ? { customers: strongest.customers, positive_customers: strongest.positive_customers }
        : {}),
    };
    const others = input.baselines
      .filter((b) => b !== strongest)
      .map((b) => `${b.label} ${fmt(b.metrics[split]?.[metric] ?? NaN)}`);
    const reason = `${metric} on ${split}: candidate ${fmt(cand)} vs the strongest baseline, ${strongest.label} ${fmt(value)}${others.length ? ` (others: ${others.join(', ')})` : ''}; candidate − baseline ${ci(delta)} (customer bootstrap), lower bound ${fmt(imp.lo)} ${beaten ? '>' : '≤'} margin ${margin}: ${beaten ? 'passes' : 'fails'}`;
    checks.push({
      kind: 'vs_baseline',
      metric,
      split,
      passed: beaten,
      reason,
      candidate: cand,
      reference: value,
      delta,
    });
  } else {
    checks.push({
      kind: 'vs_baseline',
      metric,
      split,
      passed: false,
      reason: `no baseline with a ${metric} on ${split}: nothing shows the candidate beats a rule`,
      candidate: input.candidate[split]?.[metric] ?? NaN,
      reference: null,
    });
  }

  const champ = input.champion;
  const first = champ === null;
  const alreadyChampion = champ !== null && champ.version === version;
  const champIsBaseline = champ !== null && champ.kind !== undefined;
  if (first) reasons.push('no current champion: first model');
  else if (alreadyChampion) reasons.push(`${version} is already the champion`);
  else if (champIsBaseline)
    reasons.push(`the champion ${champ.version} is the ${champ.kind} baseline: only the baselines' bar applies`);
  else for (const rule of gate.vs_champion) checks.push(championCheck(rule, input, split));

  // Does the current champion (a model, not a baseline) itself beat the strongest baseline on these rows?
  const champImp = champ && !champIsBaseline && champ.vs_strongest ? improvement(champ.vs_strongest, metric) : null;
  const championBeatsRules = champImp !== null && Number.isFinite(champImp.lo) && champImp.lo > margin;
  const championIsStrongest =
    champ !== null &&
    strongest !== null &&
    (champ.version === strongest.version ||
      (champIsBaseline &&
        champ.kind === (strongest.kind ?? strongest.id) &&
        champ.metrics[split]?.[metric] === strongest.metrics[split]?.[metric]));
  // The champion's bar binds only while the champion itself beats the rules; a candidate that does replaces one that does not.
  const binding = (c: GateCheck) => c.kind !== 'vs_champion' || championBeatsRules;
  const candidateOk = checks.filter(binding).every((c) => c.passed);
  const promote = !alreadyChampion && candidateOk;

  let served: Serve;
  if (promote)
    served = {
      version,
      role: 'candidate',
      label: 'the candidate',
      change: true,
      reason: 'the candidate passed the gate',
    };
  else if (alreadyChampion && candidateOk)
    served = {
      version,
      role: 'champion',
      label: 'the champion',
      change: false,
      reason: 'already the champion and still beats the strongest baseline',
    };
  else if (championBeatsRules)
    served = {
      version: champ!.version,
      role: 'champion',
      label: 'the champion',
      change: false,
      reason: `the champion still beats ${strongest!.label} (delta ${ci(champ!.vs_strongest!)})`,
    };
  else if (strongest && championIsStrongest)
    served = {
      version: champ!.version,
      role: 'baseline',
      label: strongest.label,
      change: false,
      reason: `the champion already serves ${strongest.label}`,
    };
  else if (strongest && strongest.version)
    served = {
      version: strongest.version,
      role: 'baseline',
      label: strongest.label,
      change: champ?.version !== strongest.version,
      reason: `no model beats ${strongest.label}: it is served`,
    };
  else
    served = {
      version: champ?.version ?? null,
      role: 'champion',
      label: champ ? 'the champion' : 'nothing',
      change: false,
      reason: 'no registered baseline to serve instead',
    };

  for (const c of checks) reasons.push(`${c.passed ? 'PASS' : binding(c) ? 'FAIL' : 'not binding'}: ${c.reason}`);
  if (champ && !champIsBaseline && !alreadyChampion && !promote) {
    reasons.push(
      champ.vs_strongest
        ? `champion ${champ.version} vs ${strongest?.label ?? 'no baseline'}: ${ci(champ.vs_strongest)} (customer bootstrap): ${championBeatsRules ? 'it still beats the strongest baseline' : 'it does not beat the strongest baseline, so it is replaced'}`
        : `champion ${champ.version} could not be compared with the strongest baseline on these rows: it is replaced`,
    );
  }
  for (const w of input.warnings ?? []) reasons.push(`warning: ${w}`);
  const head = promote
    ? `promote ${version}: beats the strongest baseline, ${sb?.label}`
    : alreadyChampion
      ? `keep ${version} as champion`
      : sb && !sb.beaten
        ? `reject ${version}: no model beats ${sb.label}`
        : `reject ${version}: ${checks.filter((c) => !c.passed).length} check(s) failed`;
  reasons.unshift(`${head}; serving ${served.label}${served.version ? ` (${served.version})` : ''}`);
  return {
    version,
    champion_before: champ?.version ?? null,
    promote,
    decision: promote ? 'promote' : 'reject',
    first_model: first,
    reasons,
    checks,
    strongest_baseline: sb,
    served,
    warnings: [...(input.warnings ?? [])],
  };
}
