import { Type, type Static } from '@sinclair/typebox';

const Scalar = Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Array(Type.Number())]);

/** A random-search dimension: a choice, or a (log-)uniform range, or an integer range. */
export const SpaceDimSchema = Type.Union([
  Type.Object({ choice: Type.Array(Scalar, { minItems: 1 }) }, { additionalProperties: false }),
  Type.Object({ uniform: Type.Tuple([Type.Number(), Type.Number()]) }, { additionalProperties: false }),
  Type.Object(
    { log_uniform: Type.Tuple([Type.Number({ exclusiveMinimum: 0 }), Type.Number({ exclusiveMinimum: 0 })]) },
    { additionalProperties: false },
  ),
  Type.Object({ int: Type.Tuple([Type.Integer(), Type.Integer()]) }, { additionalProperties: false }),
]);
export type SpaceDim = Static<typeof SpaceDimSchema>;

/** Hyper-parameters of the model families (any of them may be fixed, gridded or searched); each family reads its own. */
export const HyperParamsSchema = Type.Object(
  {
    learning_rate: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    epochs: Type.Optional(Type.Integer({ minimum: 1 })),
    batch_size: Type.Optional(Type.Integer({ minimum: 1 })),
    l2: Type.Optional(Type.Number({ minimum: 0 })),
    l1: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'L1 (lasso) penalty on the kernels: shrinks uninformative inputs to about zero.',
      }),
    ),
    hidden: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }))),
    max_steps: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Cap on optimiser steps; epochs are cut to fit (0 = none).' }),
    ),
    group_weight: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('balanced')], {
        description:
          'balanced: every customer carries the same total weight, so one heavy customer cannot dominate the fit.',
      }),
    ),
    class_weight: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('balanced'), Type.Number({ exclusiveMinimum: 0 })]),
    ),
    // Gradient-boosted trees (gbdt); learning_rate is the shrinkage, class_weight as above.
    n_estimators: Type.Optional(
      Type.Integer({ minimum: 1, description: 'gbdt: most boosting rounds (trees); early stopping may keep fewer.' }),
    ),
    max_depth: Type.Optional(Type.Integer({ minimum: 1, description: 'gbdt: deepest split level of a tree.' })),
    max_leaves: Type.Optional(
      Type.Integer({ minimum: 2, description: 'gbdt: most leaves per tree (grown best split first).' }),
    ),
    min_child_weight: Type.Optional(Type.Number({ minimum: 0, description: 'gbdt: least hessian sum in a child.' })),
    reg_lambda: Type.Optional(Type.Number({ minimum: 0, description: 'gbdt: L2 penalty on leaf values.' })),
    min_split_gain: Type.Optional(Type.Number({ minimum: 0, description: 'gbdt: least loss reduction for a split.' })),
    subsample: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'gbdt: share of rows drawn (seeded) per tree.' }),
    ),
    colsample: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'gbdt: share of encoded inputs drawn (seeded) per tree.',
      }),
    ),
    max_bins: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 256, description: 'gbdt: most histogram bins per input.' }),
    ),
    early_stopping_rounds: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "gbdt: stop when the grouped validation fold's log loss has not improved for this many rounds (0 = off).",
      }),
    ),
    early_stopping_steps: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "logistic, mlp: stop when the grouped validation fold's loss (taken after every epoch) has not improved for this many optimiser steps, and keep the best epoch's weights (0 = off).",
      }),
    ),
    early_stopping_min_positive_customers: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'logistic, mlp: least customers with a positive in the early-stopping fold (default 5); with fewer (a few customers in all), its loss is one or two people and the step budget trains instead.',
      }),
    ),
    validation_fraction: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        description: 'Share of training customers held out as the early-stopping fold (every family).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type HyperParams = Static<typeof HyperParamsSchema>;

/** Search space of one family: fixed values, a grid (every combination) and seeded random draws. */
export const FamilySpaceSchema = Type.Object(
  {
    fixed: HyperParamsSchema,
    grid: Type.Record(Type.String(), Type.Array(Scalar, { minItems: 1 })),
    random: Type.Object({ trials: Type.Integer({ minimum: 0 }), space: Type.Record(Type.String(), SpaceDimSchema) }),
  },
  { additionalProperties: false },
);
export type FamilySpace = Static<typeof FamilySpaceSchema>;

/** A single-feature baseline: feature, the direction in which risk grows, and a threshold for a binary rule (absent: graded). */
export const FeatureBaselineSchema = Type.Object(
  {
    feature: Type.String(),
    direction: Type.Union([Type.Literal('higher'), Type.Literal('lower')]),
    threshold: Type.Optional(
      Type.Number({ description: 'Binary rule: risk when the feature is below (lower) / above (higher) this value.' }),
    ),
  },
  { additionalProperties: false },
);
export type FeatureBaseline = Static<typeof FeatureBaselineSchema>;

/** Selection metrics (all "higher is better"). */
export const SELECTION_METRICS = ['pr_auc', 'roc_auc', 'neg_log_loss', 'neg_brier'] as const;
export type SelectionMetric = (typeof SELECTION_METRICS)[number];

/** `packages/train/params.json`. */
export const TrainParamsSchema = Type.Object(
  {
    seed: Type.Integer(),
    selection_metric: Type.Union(SELECTION_METRICS.map((m) => Type.Literal(m))),
    selection_aggregate: Type.Optional(
      Type.Union([Type.Literal('fold_mean'), Type.Literal('pooled')], {
        description:
          'How fold predictions become one score: the mean of per-fold scores, or the score of the pooled out-of-fold predictions (steadier when folds are few or lopsided). Default fold_mean.',
      }),
    ),
    preprocessing: Type.Object({
      min_category_count: Type.Integer({ minimum: 1 }),
      max_categories: Type.Integer({ minimum: 1 }),
      numeric_bins: Type.Optional(
        Type.Integer({
          minimum: 0,
          description: 'Quantile bins per numeric feature, one-hot beside the scaled value (0 = none).',
        }),
      ),
      scaled: Type.Optional(
        Type.Boolean({
          description:
            'Keep the standardised value beside the bins (default true); false = bins alone, a step function without a forced linear trend. Features without bins keep it.',
        }),
      ),
      bin_encoding: Type.Optional(
        Type.Union([Type.Literal('one_hot'), Type.Literal('thermometer')], {
          description:
            'one_hot (default): one column per bin. thermometer: one cumulative column per edge (x ≥ edge), so with L1 a model keeps a few thresholds.',
        }),
      ),
    }),
    sample_round: Type.Object({
      fraction: Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'Share of train groups (customers) in the algorithm-selection sample.',
      }),
      max_rows: Type.Integer({ minimum: 1 }),
      finalists: Type.Integer({
        minimum: 1,
        description:
          'Configurations carried to the full round (the best of each family too, unless every_family is false).',
      }),
      repeats: Type.Optional(
        Type.Integer({
          minimum: 1,
          description:
            'Repeats of the CV plan used in this round (default: all of them); the full round always uses every repeat.',
        }),
      ),
      every_family: Type.Optional(
        Type.Boolean({
          description:
            "Carry each family's best to the full round whatever its round-1 score (default true); false = only the top `finalists` by score, so a family that lost on the sample costs no more time.",
        }),
      ),
    }),
    full_round: Type.Object({
      max_rows: Type.Integer({
        minimum: 1,
        description:
          'Cap on train rows read from the master table (whole customers, seeded, stratified by fold above it).',
      }),
    }),
    families: Type.Object(
      {
        logistic: Type.Optional(FamilySpaceSchema),
        mlp: Type.Optional(FamilySpaceSchema),
        gbdt: Type.Optional(FamilySpaceSchema),
      },
      { additionalProperties: false },
    ),
    cv: Type.Optional(
      Type.Object(
        {
          scheme: Type.Optional(
            Type.Union(
              [Type.Literal('auto'), Type.Literal('build'), Type.Literal('group_kfold'), Type.Literal('loco')],
              {
                description:
                  'auto (default): leave one customer out below loco_below_customers train customers, repeated grouped k-fold above; build: the master table fold column.',
              },
            ),
          ),
          folds: Type.Optional(Type.Integer({ minimum: 2, description: 'k of grouped k-fold (default 5).' })),
          repeats: Type.Optional(
            Type.Integer({
              minimum: 1,
              description: 'Repeats of grouped k-fold, each with its own seeded customer shuffle (default 2).',
            }),
          ),
          loco_below_customers: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: 'auto uses leave-one-customer-out below this many train customers (default 50).',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    baselines: Type.Object(
      {
        ratio_rule: Type.Optional(FeatureBaselineSchema),
        ratio_graded: Type.Optional(FeatureBaselineSchema),
        persistence: Type.Optional(FeatureBaselineSchema),
        best_feature: Type.Optional(
          Type.Union([
            Type.Literal(false),
            Type.Object(
              { exclude: Type.Optional(Type.Array(Type.String(), { description: 'Model features never tried.' })) },
              { additionalProperties: false },
            ),
          ]),
        ),
      },
      {
        additionalProperties: false,
        description:
          'Baselines registered beside every trained model (the prior always is). A baseline whose feature is not in the master table is skipped and said so.',
      },
    ),
    calibration: Type.Object({
      methods: Type.Array(Type.Union([Type.Literal('platt'), Type.Literal('isotonic')]), { minItems: 1 }),
      select_by: Type.Union([Type.Literal('brier'), Type.Literal('ece')]),
      max_rows: Type.Optional(
        Type.Integer({ minimum: 1, description: 'Cap on calibration rows (whole customers, seeded); default 50,000.' }),
      ),
    }),
    card: Type.Optional(
      Type.Object(
        {
          intended_use: Type.Optional(Type.String()),
          min_customers: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Fewer train customers than this: the card warns (default 30).' }),
          ),
          min_positive_customers: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: 'Fewer train customers with a positive than this: the card warns (default 10).',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'TrainParams', additionalProperties: false },
);
export type TrainParams = Static<typeof TrainParamsSchema>;
