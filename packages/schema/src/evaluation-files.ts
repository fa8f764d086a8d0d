/**
 * The files the evaluate stage hands on: the decision beside each model (serve, monitor and the
 * registry CLI read it), and the report folder's `verdict.json` and `metrics.json` (the registry
 * CLI, the index and monitor read them). Statistics are {@link JsonNumber}s: a metric undefined on
 * the rows (no positives) is NaN in memory and null in the file.
 */
import { Type, type Static } from '@sinclair/typebox';
import { JsonNumber, Nullable } from './common';

const Count = Type.Integer({ minimum: 0 });
const EvalSplitKey = Type.Union([Type.Literal('test'), Type.Literal('holdout')]);

/** Money (or any utility) per outcome of a flag; evaluate chooses the threshold with it, monitor measures realised value. */
export const ValueMatrixSchema = Type.Object(
  {
    tp: Type.Number({ description: 'Value of a true positive (e.g. money saved by a timely nudge).' }),
    fp: Type.Number({ description: 'Value of a false positive (usually negative: a needless nudge).' }),
    fn: Type.Number({ description: 'Value of a false negative (usually negative: missed revenge spending).' }),
    tn: Type.Number({ description: 'Value of a true negative (usually 0).' }),
  },
  { additionalProperties: false },
);
export type ValueMatrix = Static<typeof ValueMatrixSchema>;

/** `registry/models/<version>/decision.json`: the threshold a version serves at, chosen by evaluate. */
export const DecisionSchema = Type.Object(
  {
    threshold: Type.Number({ description: 'Flag when the calibrated probability is at least this.' }),
    objective: Type.Union([Type.Literal('f1'), Type.Literal('value')]),
    value_matrix: ValueMatrixSchema,
    achieved: Type.Optional(
      JsonNumber({ description: 'What the objective reached at the threshold on the rows it was chosen on.' }),
    ),
    chosen_on: Type.Optional(Type.String({ description: 'Split the threshold was chosen on.' })),
  },
  { title: 'Decision' },
);
export type Decision = Static<typeof DecisionSchema>;

/** A point estimate with its bootstrap percentile interval. */
export const EstimateSchema = Type.Object({ value: JsonNumber(), lo: JsonNumber(), hi: JsonNumber() });
export type EstimateRecord = Static<typeof EstimateSchema>;

/** One check of the gate and how it came out. */
export const GateCheckSchema = Type.Object({
  kind: Type.Union([Type.Literal('floor'), Type.Literal('vs_champion'), Type.Literal('vs_baseline')]),
  metric: Type.String(),
  split: Type.String(),
  passed: Type.Boolean(),
  reason: Type.String(),
  candidate: JsonNumber(),
  reference: JsonNumber(),
  delta: Type.Optional(EstimateSchema),
});

/** The strongest baseline on the gate metric and whether the candidate beat it. */
export const StrongestBaselineSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  label: Type.String(),
  version: Nullable(Type.String()),
  metric: Type.String(),
  split: Type.String(),
  value: JsonNumber(),
  candidate: JsonNumber(),
  delta: EstimateSchema,
  margin: Type.Number(),
  beaten: Type.Boolean(),
  customers: Type.Optional(Count),
  positive_customers: Type.Optional(Count),
});

/** Which model serves after a verdict, and whether the champion alias moves. */
export const ServedSchema = Type.Object({
  version: Nullable(Type.String()),
  role: Type.Union([Type.Literal('candidate'), Type.Literal('champion'), Type.Literal('baseline')]),
  label: Type.String(),
  change: Type.Boolean({ description: 'The champion alias must move to `version`.' }),
  reason: Type.String(),
});

/**
 * `reports/<version>/verdict.json`: the promotion gate's verdict, the one record of the comparison
 * with the champion and the baselines. Always written, also when there is nothing to compare.
 */
export const GateVerdictSchema = Type.Object(
  {
    version: Type.String(),
    champion_before: Nullable(Type.String()),
    promote: Type.Boolean({ description: 'The candidate passed the gate.' }),
    decision: Type.Union([Type.Literal('promote'), Type.Literal('reject')]),
    first_model: Type.Boolean(),
    reasons: Type.Array(Type.String()),
    checks: Type.Array(GateCheckSchema),
    strongest_baseline: Nullable(StrongestBaselineSchema),
    served: ServedSchema,
    warnings: Type.Array(Type.String(), { description: 'Evidence too thin to lean on.' }),
    promoted: Type.Optional(Type.Boolean({ description: 'The candidate was promoted by this run.' })),
    decided_at: Type.Optional(Type.String()),
  },
  { title: 'GateVerdict' },
);
export type GateVerdict = Static<typeof GateVerdictSchema>;

/** Every metric of one model on one split, with customer-level bootstrap intervals. */
export const MetricSetSchema = Type.Object({
  n: Count,
  positives: Count,
  customers: Type.Optional(Count),
  positive_customers: Type.Optional(Count),
  threshold: Type.Number(),
  bootstrap_unit: Type.Optional(Type.Union([Type.Literal('customer'), Type.Literal('row')])),
  bootstrap_rows: Type.Optional(Count),
  bootstrap_customers: Type.Optional(Count),
  metrics: Type.Record(Type.String(), EstimateSchema, { description: 'roc_auc, pr_auc, log_loss, brier, ece, ...' }),
  confusion: Type.Record(Type.String(), EstimateSchema, { description: 'tp, fp, fn, tn at the threshold.' }),
});

/** One contender's results (candidate, champion or baseline). */
export const ContenderResultSchema = Type.Object({
  id: Type.String(),
  label: Type.String(),
  role: Type.Union([Type.Literal('candidate'), Type.Literal('champion'), Type.Literal('baseline')]),
  version: Nullable(Type.String()),
  description: Type.String(),
  threshold: Type.Number(),
  splits: Type.Record(EvalSplitKey, MetricSetSchema),
  delta: Type.Optional(
    Type.Record(Type.String(), EstimateSchema, { description: 'Candidate minus this contender on the gate split.' }),
  ),
  kind: Type.Optional(Type.String()),
});
export type ContenderRecord = Static<typeof ContenderResultSchema>;

const SpreadSchema = Type.Object({
  customers: Count,
  min: JsonNumber(),
  p25: JsonNumber(),
  median: JsonNumber(),
  p75: JsonNumber(),
  max: JsonNumber(),
});

/** `reports/<version>/metrics.json`: everything evaluate measured for one candidate version. */
export const EvaluationMetricsSchema = Type.Object(
  {
    version: Type.String(),
    decision: DecisionSchema,
    contenders: Type.Array(ContenderResultSchema),
    gate_split: EvalSplitKey,
    lift: Type.Record(
      EvalSplitKey,
      Type.Array(
        Type.Object({
          decile: Type.Integer(),
          count: Count,
          positives: Count,
          rate: JsonNumber(),
          lift: JsonNumber(),
          cumulativeGain: JsonNumber(),
          minScore: JsonNumber(),
        }),
      ),
    ),
    learning_curve: Type.Array(
      Type.Object({
        size: Count,
        train_log_loss: JsonNumber(),
        validation_log_loss: JsonNumber(),
        train_roc_auc: JsonNumber(),
        validation_roc_auc: JsonNumber(),
      }),
    ),
    per_customer: Type.Object({
      split: EvalSplitKey,
      spreads: Type.Record(Type.String(), Type.Object({ pr_auc: SpreadSchema, roc_auc: SpreadSchema })),
      customers: Type.Array(
        Type.Object({
          rank: Type.Integer(),
          rows: Count,
          positives: Count,
          pr_auc: Type.Record(Type.String(), JsonNumber()),
        }),
      ),
      dominant_positive_share: Type.Number(),
    }),
    evidence: Type.Record(
      EvalSplitKey,
      Type.Object({ rows: Count, positives: Count, customers: Count, positive_customers: Count }),
    ),
    warnings: Type.Array(Type.String()),
    verdict: GateVerdictSchema,
    plots: Type.Array(Type.String(), { description: 'SVG files beside it.' }),
    generated_at: Type.String(),
    samples: Type.Object({
      learning_curve: Type.Union([
        Type.Object({ source: Type.Literal('card') }),
        Type.Object({
          source: Type.Literal('refit'),
          seed: Type.Integer(),
          train_rows: Count,
          train_total: Count,
          validation_rows: Count,
          validation_total: Count,
          cap: Count,
        }),
      ]),
      bootstrap: Type.Object({ max_rows: Nullable(Count) }),
    }),
  },
  { title: 'EvaluationMetrics' },
);
export type EvaluationMetrics = Static<typeof EvaluationMetricsSchema>;
