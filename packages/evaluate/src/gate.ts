import { METRIC_DIRECTIONS, type EvaluateParams, type MetricName } from './params';

/** One check of the gate and how it came out. */
export interface GateCheck {
  readonly kind: 'floor' | 'vs_champion' | 'vs_baseline';
  readonly metric: MetricName;
  readonly split: string;
  readonly passed: boolean;
  readonly reason: string;
  readonly candidate: number;
  readonly reference: number | null;
}

/** The verdict file (`reports/<version>/verdict.json`). Always written, also when there is nothing to compare. */
export interface Verdict {
  readonly version: string;
  readonly champion_before: string | null;
  readonly promote: boolean;
  readonly decision: 'promote' | 'reject';
  readonly first_model: boolean;
  readonly reasons: string[];
  readonly checks: GateCheck[];
  /** Filled by the adapter once the promotion happened (or was skipped). */
  readonly promoted?: boolean;
  readonly decided_at?: string;
}

/** Point metrics per split for one model, the shape the gate reads. */
export type SplitMetrics = Readonly<Record<string, Readonly<Partial<Record<MetricName, number>>>>>;

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/** A required-change check of the candidate against a reference model (champion or baseline). */
function compare(
  kind: 'vs_champion' | 'vs_baseline',
  refName: string,
  rule: { metric: MetricName; mode: 'absolute' | 'relative'; min_change: number; direction?: 'higher' | 'lower'; split?: string },
  candidate: SplitMetrics,
  reference: SplitMetrics,
  defaultSplit: string,
): GateCheck {
  const split = rule.split ?? defaultSplit;
  const value = candidate[split]?.[rule.metric] ?? NaN;
  const ref = reference[split]?.[rule.metric] ?? NaN;
  const direction = rule.direction ?? METRIC_DIRECTIONS[rule.metric];
  const raw = rule.mode === 'absolute' ? value - ref : (value - ref) / Math.abs(ref);
  const change = direction === 'higher' ? raw : -raw;
  const passed = Number.isFinite(change) && change >= rule.min_change;
  const unit = rule.mode === 'relative' ? ` (${(100 * change).toFixed(2)}% vs required ${(100 * rule.min_change).toFixed(2)}%)` : ` (vs required ${rule.min_change})`;
  const reason = `${rule.metric} on ${split}: candidate ${fmt(value)} vs ${refName} ${fmt(ref)}, ${rule.mode} improvement ${fmt(change)}${unit} ${passed ? 'passes' : 'fails'}`;
  return { kind, metric: rule.metric, split, passed, reason, candidate: value, reference: ref };
}

/**
 * The competition gate: absolute floors first, then the required change against the champion.
 * Pure: takes the candidate's and the champion's metrics on the same rows and returns a verdict
 * with one human-readable reason per check. No thresholds and no champion still give an explicit
 * verdict (promote, with the reason spelled out). A missing or NaN metric fails its check.
 *
 * @example decideGate('v2', cand, { version: 'v1', metrics: champ }, params.gate)
 */
export function decideGate(
  version: string,
  candidate: SplitMetrics,
  champion: { version: string; metrics: SplitMetrics } | null,
  gate: EvaluateParams['gate'],
  baselines: Readonly<Record<string, SplitMetrics>> = {},
): Verdict {
  const checks: GateCheck[] = [];
  const reasons: string[] = [];
  for (const floor of gate.floors) {
    const split = floor.split ?? gate.split;
    const value = candidate[split]?.[floor.metric] ?? NaN;
    const higher = METRIC_DIRECTIONS[floor.metric] === 'higher';
    const passed = Number.isFinite(value) && (higher ? value >= floor.value : value <= floor.value);
    const reason = `${floor.metric} on ${split} = ${fmt(value)} ${passed ? 'meets' : 'fails'} the ${higher ? 'floor ≥' : 'ceiling ≤'} ${floor.value}`;
    checks.push({ kind: 'floor', metric: floor.metric, split, passed, reason, candidate: value, reference: floor.value });
  }
  const first = champion === null;
  if (first) {
    reasons.push('no current champion: first model, nothing to compete against');
  } else if (champion.version === version) {
    reasons.push(`${version} is already the champion`);
  } else {
    for (const rule of gate.vs_champion) checks.push(compare('vs_champion', `champion ${champion.version}`, rule, candidate, champion.metrics, gate.split));
  }
  for (const rule of gate.vs_baselines ?? []) {
    const base = baselines[rule.baseline];
    if (base) checks.push(compare('vs_baseline', `${rule.baseline} baseline`, rule, candidate, base, gate.split));
    else reasons.push(`note: no ${rule.baseline} baseline to compare against`);
  }
  if (checks.length === 0) reasons.push('no gate thresholds apply: promoted by default');
  for (const c of checks) reasons.push(`${c.passed ? 'PASS' : 'FAIL'}: ${c.reason}`);
  const alreadyChampion = champion !== null && champion.version === version;
  const promote = !alreadyChampion && checks.every((c) => c.passed);
  reasons.unshift(promote ? `promote ${version}` : alreadyChampion ? `keep ${version} as champion` : `reject ${version}: ${checks.filter((c) => !c.passed).length} check(s) failed`);
  return {
    version,
    champion_before: champion?.version ?? null,
    promote,
    decision: promote ? 'promote' : 'reject',
    first_model: first,
    reasons,
    checks,
  };
}
