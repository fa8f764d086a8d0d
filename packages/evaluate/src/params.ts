import { Type, type Static } from '@sinclair/typebox';

/** Metrics the gate and the report know, and whether a higher value is better. */
export const METRIC_DIRECTIONS = {
  roc_auc: 'higher',
  pr_auc: 'higher',
  log_loss: 'lower',
  brier: 'lower',
  ece: 'lower',
  precision: 'higher',
  recall: 'higher',
  f1: 'higher',
  accuracy: 'higher',
} as const;
export type MetricName = keyof typeof METRIC_DIRECTIONS;
export const METRIC_NAMES = Object.keys(METRIC_DIRECTIONS) as MetricName[];

const MetricNameSchema = Type.Union(METRIC_NAMES.map((m) => Type.Literal(m)));
const SplitNameSchema = Type.Union([Type.Literal('test'), Type.Literal('holdout')]);

/** Money (or any utility) per outcome; monitoring reuses it to measure realised value. */
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

/** An absolute floor (or ceiling, for lower-is-better metrics): `metric` must be at least / at most `value`. */
export const FloorSchema = Type.Object(
  {
    metric: MetricNameSchema,
    value: Type.Number(),
    split: Type.Optional(SplitNameSchema),
  },
  { additionalProperties: false },
);
export type Floor = Static<typeof FloorSchema>;

/**
 * Required change against the champion. `mode: absolute` compares `candidate - champion`,
 * `relative` compares `(candidate - champion) / |champion|`; `direction` says which sign is an
 * improvement (defaults to the metric's own direction) and `min_change` how much is required
 * (0 = "not worse"; negative values tolerate a small regression).
 */
export const ChampionRuleSchema = Type.Object(
  {
    metric: MetricNameSchema,
    mode: Type.Union([Type.Literal('absolute'), Type.Literal('relative')]),
    min_change: Type.Number(),
    direction: Type.Optional(Type.Union([Type.Literal('higher'), Type.Literal('lower')])),
    split: Type.Optional(SplitNameSchema),
  },
  { additionalProperties: false },
);
export type ChampionRule = Static<typeof ChampionRuleSchema>;

/** Required change against a baseline (`prior` or `rule`), same semantics as {@link ChampionRuleSchema}. */
export const BaselineRuleSchema = Type.Object(
  {
    baseline: Type.Union([Type.Literal('prior'), Type.Literal('rule')]),
    ...ChampionRuleSchema.properties,
  },
  { additionalProperties: false },
);
export type BaselineRule = Static<typeof BaselineRuleSchema>;

/** `packages/evaluate/params.json`. */
export const EvaluateParamsSchema = Type.Object(
  {
    seed: Type.Integer({ description: 'Seed of the bootstrap and the learning-curve subsets.' }),
    bootstrap: Type.Object(
      {
        iterations: Type.Integer({ minimum: 0, description: 'Bootstrap resamples per metric; 0 disables the intervals.' }),
        confidence: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        max_rows: Type.Optional(
          Type.Integer({
            minimum: 100,
            description: 'Resample at most this many rows per split (seeded subsample, intervals rescaled by sqrt(m/n)); bounds the cost at millions of rows. Default 100000.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    threshold: Type.Object(
      {
        objective: Type.Union([Type.Literal('f1'), Type.Literal('value')], { description: 'best F1, or the best expected value under value_matrix.' }),
        value_matrix: ValueMatrixSchema,
        split: Type.Union([Type.Literal('calibration'), Type.Literal('test')], {
          description: 'Rows the threshold is chosen on; calibration keeps test and holdout unbiased (falls back to test when there are no calibration rows).',
        }),
      },
      { additionalProperties: false },
    ),
    gate: Type.Object(
      {
        split: SplitNameSchema,
        floors: Type.Array(FloorSchema),
        vs_champion: Type.Array(ChampionRuleSchema),
        vs_baselines: Type.Optional(Type.Array(BaselineRuleSchema, { description: 'Checks against the baselines; also apply to a first model.' })),
      },
      { additionalProperties: false },
    ),
    rule_baseline: Type.Object(
      {
        feature: Type.String({ description: 'Known-before-transaction proxy of the target ratio.' }),
        below: Type.Number(),
        essential_feature: Type.String(),
      },
      { additionalProperties: false, description: 'Used only when the registry holds no rule-family model.' },
    ),
    learning_curve: Type.Object(
      {
        fractions: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), { minItems: 1 }),
        epochs: Type.Integer({ minimum: 1 }),
        l2: Type.Number({ minimum: 0 }),
        max_rows: Type.Optional(
          Type.Integer({ minimum: 10, description: 'Refit on a seeded sample of at most this many train rows (and score as many validation rows). Default 20000.' }),
        ),
      },
      { additionalProperties: false },
    ),
    reliability_bins: Type.Integer({ minimum: 2 }),
  },
  { additionalProperties: false, $id: 'EvaluateParams' },
);
export type EvaluateParams = Static<typeof EvaluateParamsSchema>;

/** Default cap of the bootstrap rows per split ({@link EvaluateParamsSchema} `bootstrap.max_rows`). */
export const DEFAULT_BOOTSTRAP_MAX_ROWS = 100_000;
/** Default cap of the learning-curve sample (`learning_curve.max_rows`). */
export const DEFAULT_LEARNING_CURVE_MAX_ROWS = 20_000;

/** Defaults matching the committed params.json; tests start from these. */
export const DEFAULT_EVALUATE_PARAMS: EvaluateParams = {
  seed: 7,
  bootstrap: { iterations: 300, confidence: 0.95, max_rows: DEFAULT_BOOTSTRAP_MAX_ROWS },
  threshold: { objective: 'f1', value_matrix: { tp: 50, fp: -5, fn: -20, tn: 0 }, split: 'calibration' },
  gate: {
    split: 'test',
    floors: [{ metric: 'pr_auc', value: 0.2 }],
    vs_champion: [{ metric: 'pr_auc', mode: 'absolute', min_change: 0 }],
    vs_baselines: [{ baseline: 'prior', metric: 'pr_auc', mode: 'absolute', min_change: 0 }],
  },
  rule_baseline: { feature: 'prev_available_ratio', below: 0.2, essential_feature: 'is_essential' },
  learning_curve: { fractions: [0.1, 0.2, 0.35, 0.5, 0.75, 1], epochs: 60, l2: 0.001, max_rows: DEFAULT_LEARNING_CURVE_MAX_ROWS },
  reliability_bins: 10,
};
