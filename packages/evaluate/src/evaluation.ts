/**
 * The pure core of the stage: scores of every contender on the same rows in, metrics with
 * intervals, the decision threshold, plots and the gate verdict out. No I/O, no clock.
 */
import { reliabilityBins } from '@bolsillo/core';
import { liftByDecile, prCurve, rocCurve, scoreHistogram, type Decile } from './curves';
import { decideGate, strongestBaseline, type GateReference, type SplitMetrics, type Verdict } from './gate';
import type { LearningPoint } from './learning-curve';
import {
  customerCounts,
  evaluateModels,
  pairedDifferences,
  perCustomerMetrics,
  spreadOf,
  type BootstrapOptions,
  type Estimate,
  type ScoredModel,
  type MetricSet,
  type Spread,
} from './metrics';
import {
  DEFAULT_BOOTSTRAP_MAX_ROWS,
  DEFAULT_EVIDENCE,
  METRIC_NAMES,
  type EvaluateParams,
  type MetricName,
} from './params';
import { PALETTE, barChart, confusionSvg, lineChart } from './svg';
import { chooseThreshold, type Decision } from './threshold';

/** Splits the stage reports on. */
export const EVAL_SPLITS = ['test', 'holdout'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** One contender: the candidate, the current champion, or a baseline, scored on the same rows. */
export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly role: 'candidate' | 'champion' | 'baseline';
  /** Registry version, or null for a baseline computed on the fly. */
  readonly version: string | null;
  readonly description: string;
  /** Which baseline (`prior`, `ratio_rule`, …) for a baseline, or for a champion that is one. */
  readonly kind?: string;
  /** Scores on the threshold-selection rows and on each evaluation split. */
  readonly scores: { readonly threshold: ArrayLike<number> } & Readonly<Record<EvalSplit, ArrayLike<number>>>;
  /** Fixed threshold (the champion serves with its own); otherwise chosen by the objective. */
  readonly fixedThreshold?: number;
}

/**
 * Labels (0/1) of the threshold-selection rows and each evaluation split, and the customer of
 * every evaluation row (small integers): every interval resamples whole customers.
 */
export type SplitLabels = {
  readonly threshold: ArrayLike<number>;
  readonly thresholdSplit: string;
  readonly groups: Readonly<Record<EvalSplit, ArrayLike<number>>>;
} & Readonly<Record<EvalSplit, ArrayLike<number>>>;

/** How results vary person by person on one split: each contender's per-customer metric spread, and the customers with positives. */
export interface PerCustomer {
  readonly split: EvalSplit;
  readonly spreads: Record<string, { readonly pr_auc: Spread; readonly roc_auc: Spread }>;
  /** Customers with a positive row, most positives first, anonymised as their rank; PR-AUC per contender id. */
  readonly customers: {
    readonly rank: number;
    readonly rows: number;
    readonly positives: number;
    readonly pr_auc: Record<string, number>;
  }[];
  /** Share of all positives held by the customer with the most positives. */
  readonly dominant_positive_share: number;
}

/** A contender's results. */
export interface ContenderResult {
  readonly id: string;
  readonly label: string;
  readonly role: Contender['role'];
  readonly version: string | null;
  readonly description: string;
  readonly threshold: number;
  readonly splits: Record<EvalSplit, MetricSet>;
  /** Candidate minus this contender on the gate split, paired customer-level bootstrap interval (absent for the candidate). */
  readonly delta?: Record<MetricName, Estimate>;
  readonly kind?: string;
}

/** Everything evaluate knows about one candidate version. */
export interface Evaluation {
  readonly version: string;
  readonly decision: Decision;
  readonly contenders: ContenderResult[];
  /** Split the gate and the paired differences use. */
  readonly gate_split: EvalSplit;
  readonly lift: Record<EvalSplit, Decile[]>;
  readonly learning_curve: LearningPoint[];
  readonly per_customer: PerCustomer;
  /** Rows, positives, customers and positive customers of every evaluation split. */
  readonly evidence: Record<
    EvalSplit,
    { rows: number; positives: number; customers: number; positive_customers: number }
  >;
  /** Evidence too thin to lean on (below `evidence` in the params). */
  readonly warnings: string[];
  readonly verdict: Verdict;
  /** SVG documents by file name (`roc.svg`, ...). */
  readonly plots: Record<string, string>;
}

/** Bootstrap options from the params (the row cap defaults to {@link DEFAULT_BOOTSTRAP_MAX_ROWS}). */
export function bootstrapOptions(params: EvaluateParams): Omit<BootstrapOptions, 'seed'> {
  return {
    iterations: params.bootstrap.iterations,
    confidence: params.bootstrap.confidence,
    bins: params.reliability_bins,
    maxRows: params.bootstrap.max_rows ?? DEFAULT_BOOTSTRAP_MAX_ROWS,
  };
}

function toPointMetrics(r: ContenderResult): SplitMetrics {
  return Object.fromEntries(
    EVAL_SPLITS.map((s) => [s, Object.fromEntries(METRIC_NAMES.map((m) => [m, r.splits[s].metrics[m].value]))]),
  );
}

/** Warnings for splits whose customers or positive customers fall below the evidence thresholds. */
export function evidenceWarnings(evidence: Evaluation['evidence'], params: EvaluateParams): string[] {
  const t = params.evidence ?? DEFAULT_EVIDENCE;
  const out: string[] = [];
  for (const s of EVAL_SPLITS) {
    const e = evidence[s];
    if (e.rows === 0) continue;
    if (e.customers < t.min_customers || e.positive_customers < t.min_positive_customers)
      out.push(
        `${s} split rests on ${e.customers} customers, ${e.positive_customers} with positives (thresholds ${t.min_customers} and ${t.min_positive_customers}): its numbers describe few people`,
      );
  }
  return out;
}

function perCustomer(labels: SplitLabels, contenders: readonly Contender[], split: EvalSplit): PerCustomer {
  const y = labels[split];
  const g = labels.groups[split];
  const per = Object.fromEntries(contenders.map((c) => [c.id, perCustomerMetrics(y, c.scores[split], g)]));
  const spreads = Object.fromEntries(
    contenders.map((c) => [
      c.id,
      { pr_auc: spreadOf(per[c.id]!.map((m) => m.pr_auc)), roc_auc: spreadOf(per[c.id]!.map((m) => m.roc_auc)) },
    ]),
  );
  const base = per[contenders[0]!.id] ?? [];
  const order = base
    .map((m, k) => ({ m, k }))
    .filter(({ m }) => m.positives > 0)
    .sort((a, b) => b.m.positives - a.m.positives || b.m.rows - a.m.rows || a.m.customer - b.m.customer);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  return {
    split,
    spreads,
    customers: order.map(({ m, k }, rank) => ({
      rank: rank + 1,
      rows: m.rows,
      positives: m.positives,
      pr_auc: Object.fromEntries(contenders.map((c) => [c.id, per[c.id]![k]!.pr_auc])),
    })),
    dominant_positive_share: positives ? (order[0]?.m.positives ?? 0) / positives : 0,
  };
}

/** Each contender's threshold: its own served one (the champion), else chosen by the objective on the threshold rows. */
export function contenderThresholds(
  labels: SplitLabels,
  contenders: readonly Contender[],
  params: EvaluateParams,
): number[] {
  const { objective, value_matrix } = params.threshold;
  return contenders.map(
    (c) => c.fixedThreshold ?? chooseThreshold(labels.threshold, c.scores.threshold, objective, value_matrix).threshold,
  );
}

/**
 * The bootstrap of one evaluation split: its labels, every contender's scores and threshold, and
 * the options (same seed per split for all contenders, so their intervals are paired).
 */
export function splitBootstrap(
  labels: SplitLabels,
  contenders: readonly Contender[],
  thresholds: readonly number[],
  params: EvaluateParams,
  split: EvalSplit,
): { y: ArrayLike<number>; models: ScoredModel[]; options: BootstrapOptions } {
  return {
    y: labels[split],
    models: contenders.map((c, i) => ({ scores: c.scores[split], threshold: thresholds[i]! })),
    options: {
      ...bootstrapOptions(params),
      seed: params.seed + 1000 * EVAL_SPLITS.indexOf(split),
      groups: labels.groups[split],
    },
  };
}

/** The pairs of the gate's paired deltas: the candidate against every other contender, and the champion against each baseline. */
function deltaPairs(contenders: readonly Contender[]): [number, number][] {
  const ci = contenders.findIndex((c) => c.role === 'candidate');
  const champIndex = contenders.findIndex((c) => c.role === 'champion');
  const baselineIndices = contenders.flatMap((c, i) => (c.role === 'baseline' ? [i] : []));
  return [
    ...contenders.flatMap((_, i) => (i === ci ? [] : [[ci, i] as [number, number]])),
    ...(champIndex >= 0 ? baselineIndices.map((i) => [champIndex, i] as [number, number]) : []),
  ];
}

/**
 * The gate's paired deltas on the gate split, all from one set of resamples: the candidate against
 * every other contender, and the champion against each baseline (the gate reads the one against the
 * strongest). Each equals its own pairedDifference call. In {@link deltaPairs} order.
 */
export function gateDeltas(
  labels: SplitLabels,
  contenders: readonly Contender[],
  thresholds: readonly number[],
  params: EvaluateParams,
): Record<MetricName, Estimate>[] {
  const gateSplit = params.gate.split as EvalSplit;
  const pairs = deltaPairs(contenders);
  if (pairs.length === 0) return [];
  return pairedDifferences(
    labels[gateSplit],
    contenders.map((c, i) => ({ scores: c.scores[gateSplit], threshold: thresholds[i]! })),
    pairs,
    { ...bootstrapOptions(params), seed: params.seed + 7, groups: labels.groups[gateSplit] },
  );
}

/** Parts of {@link evaluateCandidate} computed elsewhere (another thread), given in. */
export interface PrecomputedEvaluation {
  readonly thresholds?: readonly number[];
  readonly splits?: Readonly<Partial<Record<EvalSplit, MetricSet[]>>>;
  readonly deltas?: Record<MetricName, Estimate>[];
}

/**
 * Evaluate a candidate against its contenders and decide the gate. Every interval is a
 * customer-level (cluster) bootstrap: metrics, and the paired deltas of the candidate against
 * each contender (and of the champion against the strongest baseline). Parts already computed
 * (`precomputed`: thresholds, a split's bootstrap, the deltas) are taken as given.
 *
 * @example evaluateCandidate('20260101T000000Z-abc123', labels, [candidate, prior, ratio_rule], learning, params)
 */
export function evaluateCandidate(
  version: string,
  labels: SplitLabels,
  contenders: readonly Contender[],
  learning: LearningPoint[],
  params: EvaluateParams,
  /** What the learning curve refits, for its title ("logistic regression, refitted", "logistic stand-in for the mlp model"). */
  learningModel = 'logistic regression, refitted',
  precomputed: PrecomputedEvaluation = {},
): Evaluation {
  const candidate = contenders.find((c) => c.role === 'candidate');
  if (!candidate) throw new Error('evaluate: no candidate among the contenders');
  const { objective, value_matrix } = params.threshold;
  const gateSplit = params.gate.split as EvalSplit;
  const thresholds = precomputed.thresholds ?? contenderThresholds(labels, contenders, params);
  // Every contender of a split on one set of resamples: each equals its own evaluateScores.
  const bySplit = Object.fromEntries(
    EVAL_SPLITS.map((s) => {
      const given = precomputed.splits?.[s];
      if (given) return [s, given];
      const b = splitBootstrap(labels, contenders, thresholds, params, s);
      return [s, evaluateModels(b.y, b.models, b.options)];
    }),
  ) as Record<EvalSplit, MetricSet[]>;
  const ci = contenders.indexOf(candidate);
  const champIndex = contenders.findIndex((c) => c.role === 'champion');
  const pairs = deltaPairs(contenders);
  const deltas = precomputed.deltas ?? gateDeltas(labels, contenders, thresholds, params);
  const deltaOf = (a: number, b: number) => deltas[pairs.findIndex(([x, y]) => x === a && y === b)]!;
  const results: ContenderResult[] = contenders.map((c, i) => ({
    id: c.id,
    label: c.label,
    role: c.role,
    version: c.version,
    description: c.description,
    threshold: thresholds[i]!,
    splits: Object.fromEntries(EVAL_SPLITS.map((s) => [s, bySplit[s][i]!])) as Record<EvalSplit, MetricSet>,
    ...(c.kind ? { kind: c.kind } : {}),
    ...(c.role === 'candidate' ? {} : { delta: deltaOf(ci, i) }),
  }));
  const cand = results.find((r) => r.role === 'candidate')!;
  const chosen = chooseThreshold(labels.threshold, candidate.scores.threshold, objective, value_matrix);
  const decision: Decision = {
    threshold: chosen.threshold,
    objective,
    value_matrix,
    achieved: chosen.achieved,
    chosen_on: labels.thresholdSplit,
  };

  const evidence = Object.fromEntries(
    EVAL_SPLITS.map((s) => {
      const m = cand.splits[s];
      return [s, { rows: m.n, positives: m.positives, ...customerCounts(labels[s], labels.groups[s]) }];
    }),
  ) as Evaluation['evidence'];
  const warnings = evidenceWarnings(evidence, params);
  const ref = (r: ContenderResult): GateReference => ({
    id: r.id,
    label: r.label,
    version: r.version,
    metrics: toPointMetrics(r),
    ...(r.delta ? { delta: r.delta } : {}),
    ...(r.kind ? { kind: r.kind } : {}),
    customers: r.splits[gateSplit].customers,
    positive_customers: r.splits[gateSplit].positive_customers,
  });
  const baselineRefs = results.filter((r) => r.role === 'baseline').map(ref);
  const champ = results.find((r) => r.role === 'champion');
  let vsStrongest: Estimate | null = null;
  const metric = params.gate.metric ?? 'pr_auc';
  const strongest = strongestBaseline(baselineRefs, metric, gateSplit);
  if (champ && strongest) {
    const si = contenders.findIndex((c) => c.id === strongest.id);
    vsStrongest = deltaOf(champIndex, si)[metric];
  }
  const verdict = decideGate(
    {
      version,
      candidate: toPointMetrics(cand),
      champion: champ ? { ...ref(champ), version: champ.version!, vs_strongest: vsStrongest } : null,
      baselines: baselineRefs,
      warnings,
    },
    params.gate,
  );
  const lift = Object.fromEntries(EVAL_SPLITS.map((s) => [s, liftByDecile(labels[s], candidate.scores[s])])) as Record<
    EvalSplit,
    Decile[]
  >;
  const plots = renderPlots(labels, contenders, cand, lift, learning, learningModel, params);
  return {
    version,
    decision,
    contenders: results,
    gate_split: gateSplit,
    lift,
    learning_curve: learning,
    per_customer: perCustomer(labels, contenders, 'test'),
    evidence,
    warnings,
    verdict,
    plots,
  };
}

function renderPlots(
  labels: SplitLabels,
  contenders: readonly Contender[],
  cand: ContenderResult,
  lift: Record<EvalSplit, Decile[]>,
  learning: LearningPoint[],
  learningModel: string,
  params: EvaluateParams,
): Record<string, string> {
  const split: EvalSplit = 'test';
  const y = labels[split];
  const candidate = contenders.find((c) => c.role === 'candidate')!;
  const color = (i: number) => PALETTE[i % PALETTE.length]!;
  // Legends stay short (role and family); the tables carry the full version ids.
  const short = (c: Contender) => (c.role === 'baseline' ? `${c.id} baseline` : `${c.role} (${c.label.split(' ')[0]})`);
  const named = contenders.map((c, i) => ({ c, color: color(i), name: short(c) }));
  const plots: Record<string, string> = {};
  plots['roc.svg'] = lineChart({
    kind: 'roc',
    title: `ROC curve (${split} split)`,
    xLabel: 'False positive rate',
    yLabel: 'True positive rate',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      ...named.map(({ c, color: col, name }) => ({ name, color: col, points: rocCurve(y, c.scores[split]) })),
      {
        name: 'chance',
        color: '#999',
        dashed: true,
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
    ],
  });
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] ? 1 : 0;
  plots['pr.svg'] = lineChart({
    kind: 'pr',
    title: `Precision–recall curve (${split} split)`,
    xLabel: 'Recall',
    yLabel: 'Precision',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      ...named.map(({ c, color: col, name }) => ({ name, color: col, points: prCurve(y, c.scores[split]) })),
      {
        name: 'prevalence',
        color: '#999',
        dashed: true,
        points: [
          { x: 0, y: y.length ? pos / y.length : 0 },
          { x: 1, y: y.length ? pos / y.length : 0 },
        ],
      },
    ],
  });
  plots['reliability.svg'] = lineChart({
    kind: 'reliability',
    title: `Reliability diagram (${split} split)`,
    xLabel: 'Mean predicted probability',
    yLabel: 'Observed positive rate',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      ...named
        .filter(({ c }) => c.role !== 'baseline')
        .map(({ c, color: col, name }) => ({
          name,
          color: col,
          markers: true,
          points: reliabilityBins(y, c.scores[split], params.reliability_bins)
            .filter((b) => b.count > 0)
            .map((b) => ({ x: b.meanPredicted, y: b.fractionPositive })),
        })),
      {
        name: 'perfect calibration',
        color: '#999',
        dashed: true,
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
    ],
  });
  const deciles = lift[split].map((d) => String(d.decile));
  plots['lift.svg'] = barChart({
    kind: 'lift',
    title: `Lift by decile (${split} split, decile 1 = highest scores)`,
    xLabel: 'Score decile',
    yLabel: 'Lift (decile rate / overall rate)',
    categories: deciles,
    series: [{ name: 'candidate lift', values: lift[split].map((d) => d.lift), color: PALETTE[0] }],
    reference: { name: 'no lift (1.0)', value: 1 },
  });
  plots['gain.svg'] = lineChart({
    kind: 'gain',
    title: `Cumulative gain (${split} split)`,
    xLabel: 'Share of rows flagged (by decile)',
    yLabel: 'Share of positives captured',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      {
        name: 'candidate',
        color: PALETTE[0],
        markers: true,
        points: [{ x: 0, y: 0 }, ...lift[split].map((d) => ({ x: d.decile / 10, y: d.cumulativeGain }))],
      },
      {
        name: 'random',
        color: '#999',
        dashed: true,
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
    ],
  });
  const c = cand.splits[split].confusion;
  plots['confusion.svg'] = confusionSvg({
    title: `Confusion matrix at threshold ${cand.threshold.toFixed(3)} (${split} split)`,
    tp: c.tp.value,
    fp: c.fp.value,
    fn: c.fn.value,
    tn: c.tn.value,
  });
  plots['learning-curve.svg'] = lineChart({
    kind: 'learning-curve',
    title: `Learning curve: ${learningModel}`,
    xLabel: 'Training rows',
    yLabel: 'Log loss (lower is better)',
    series: [
      {
        name: 'train',
        color: PALETTE[0],
        markers: true,
        points: learning.map((p) => ({ x: p.size, y: p.train_log_loss })),
      },
      {
        name: 'validation',
        color: PALETTE[1],
        markers: true,
        points: learning.map((p) => ({ x: p.size, y: p.validation_log_loss })),
      },
    ],
  });
  const hist = scoreHistogram(y, candidate.scores[split], 20);
  plots['score-distribution.svg'] = barChart({
    kind: 'score-distribution',
    title: `Score distribution by class (${split} split)`,
    xLabel: 'Predicted probability (bin start)',
    yLabel: 'Share of the class',
    categories: hist.edges.slice(0, -1).map((e, k) => (k % 4 ? '' : e.toFixed(1))),
    series: [
      { name: 'revenge (positive)', values: hist.positive, color: PALETTE[1] },
      { name: 'not revenge (negative)', values: hist.negative, color: PALETTE[0] },
    ],
  });
  return plots;
}
