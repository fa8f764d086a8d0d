import { Type, type Static } from '@sinclair/typebox';
import { ValueMatrixSchema, type ValueMatrix } from '@bolsillo/schema';

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

/** Defaults of `evidence` in the params. */
export const DEFAULT_EVIDENCE = { min_customers: 30, min_positive_customers: 10 } as const;

/** Money (or any utility) per outcome: one definition in `@bolsillo/schema`, since `decision.json` carries it to monitor. */
export { ValueMatrixSchema, type ValueMatrix };

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
 * Required change against the champion, judged on the customer-level (cluster) bootstrap interval
 * of `candidate − champion` on the gate split. `mode: absolute` uses the difference, `relative` the
 * difference over |champion|; `direction` says which sign is an improvement (defaults to the
 * metric's own direction); `bound: lower` (default) requires the interval's lower bound of the
 * improvement to reach `min_change`, `point` only the point estimate (0 = "not worse"; negative
 * values tolerate a small regression).
 */
export const ChampionRuleSchema = Type.Object(
  {
    metric: MetricNameSchema,
    mode: Type.Union([Type.Literal('absolute'), Type.Literal('relative')]),
    min_change: Type.Number(),
    direction: Type.Optional(Type.Union([Type.Literal('higher'), Type.Literal('lower')])),
    bound: Type.Optional(Type.Union([Type.Literal('lower'), Type.Literal('point')])),
  },
  { additionalProperties: false },
);
export type ChampionRule = Static<typeof ChampionRuleSchema>;

/** `packages/evaluate/params.json`. */
export const EvaluateParamsSchema = Type.Object(
  {
    seed: Type.Integer({ description: 'Seed of the bootstrap and the learning-curve subsets.' }),
    bootstrap: Type.Object(
      {
        iterations: Type.Integer({
          minimum: 0,
          description: 'Bootstrap resamples per metric; 0 disables the intervals.',
        }),
        confidence: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        max_rows: Type.Optional(
          Type.Integer({
            minimum: 100,
            description:
              'Resample at most this many rows per split (seeded subsample, intervals rescaled by sqrt(m/n)); bounds the cost at millions of rows. Default 100000.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    threshold: Type.Object(
      {
        objective: Type.Union([Type.Literal('f1'), Type.Literal('value')], {
          description: 'best F1, or the best expected value under value_matrix.',
        }),
        value_matrix: ValueMatrixSchema,
        split: Type.Union([Type.Literal('calibration'), Type.Literal('test')], {
          description:
            'Rows the threshold is chosen on; calibration keeps test and holdout unbiased (falls back to test when there are no calibration rows).',
        }),
      },
      { additionalProperties: false },
    ),
    gate: Type.Object(
      {
        split: SplitNameSchema,
        metric: Type.Optional(
          Type.Union(
            METRIC_NAMES.map((m) => Type.Literal(m)),
            { description: 'Selection metric the candidate must beat the strongest baseline on (default pr_auc).' },
          ),
        ),
        margin: Type.Optional(
          Type.Number({
            description:
              "The lower bound of the customer-level interval of candidate − strongest baseline (in the metric's good direction) must exceed this (default 0).",
          }),
        ),
        floors: Type.Array(FloorSchema),
        vs_champion: Type.Array(ChampionRuleSchema),
      },
      { additionalProperties: false },
    ),
    evidence: Type.Optional(
      Type.Object(
        {
          min_customers: Type.Integer({
            minimum: 0,
            description: 'Fewer customers than this in a split: the report and the verdict warn (default 30).',
          }),
          min_positive_customers: Type.Integer({
            minimum: 0,
            description: 'Fewer customers with a positive than this: they warn (default 10).',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    learning_curve: Type.Object(
      {
        fractions: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), { minItems: 1 }),
        epochs: Type.Integer({ minimum: 1 }),
        l2: Type.Number({ minimum: 0 }),
        max_rows: Type.Optional(
          Type.Integer({
            minimum: 10,
            description:
              'Refit on a seeded sample of at most this many train rows (and score as many validation rows). Default 20000.',
          }),
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
    metric: 'pr_auc',
    margin: 0,
    floors: [],
    vs_champion: [{ metric: 'pr_auc', mode: 'absolute', min_change: 0, bound: 'lower' }],
  },
  evidence: { min_customers: 30, min_positive_customers: 10 },
  learning_curve: {
    fractions: [0.1, 0.2, 0.35, 0.5, 0.75, 1],
    epochs: 60,
    l2: 0.001,
    max_rows: DEFAULT_LEARNING_CURVE_MAX_ROWS,
  },
  reliability_bins: 10,
};
