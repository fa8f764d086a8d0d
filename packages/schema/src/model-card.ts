import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common';

/**
 * Model families the registry knows. Baselines are registered too, so they can be compared and
 * served: `prior` (constant), `rule` (conditions → 0/1), `feature` (one feature, a direction and a
 * logistic map to a probability).
 */
export const MODEL_FAMILIES = ['logistic', 'mlp', 'gbdt', 'prior', 'rule', 'feature'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** The baselines a practitioner tries first; train registers one model of each. */
export const BASELINE_KINDS = ['prior', 'ratio_rule', 'ratio_graded', 'persistence', 'best_feature'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** Rows, positives and the customers they come from, for one slice of the master table. */
export const PopulationSliceSchema = Type.Object({
  rows: Type.Integer(),
  positives: Type.Integer(),
  customers: Type.Integer(),
  positive_customers: Type.Integer({ description: 'Customers with at least one positive row.' }),
  date_from: Nullable(Type.String()),
  date_to: Nullable(Type.String()),
});
export type PopulationSlice = Static<typeof PopulationSliceSchema>;

/** Who a model was trained on and how far that carries: the card's population and limitations. */
export const ModelLimitationsSchema = Type.Object({
  train_customers: Type.Integer(),
  train_positive_customers: Type.Integer(),
  dominant_customer_positive_share: Type.Number({
    description: 'Share of the training positives held by the customer with the most positives.',
  }),
  calibration: PopulationSliceSchema,
  thresholds: Type.Object({ min_customers: Type.Integer(), min_positive_customers: Type.Integer() }),
  warnings: Type.Array(Type.String(), {
    description:
      'Plain-language limits a user of the model must know (few customers, one dominant customer, thin calibration data).',
  }),
});
export type ModelLimitations = Static<typeof ModelLimitationsSchema>;

/** How one input feature becomes model columns. Fitted on the training split only. */
export const PreprocessingColumnSchema = Type.Union([
  Type.Object({
    name: Type.String(),
    kind: Type.Literal('numeric'),
    mean: Type.Number({ description: 'Training mean; missing values are filled with it (0 after standardising).' }),
    std: Type.Number({ description: 'Training standard deviation (1 when constant).' }),
    missing_indicator: Type.Boolean({ description: 'An extra 0/1 column flags a missing value.' }),
    bin_edges: Type.Optional(
      Type.Array(Type.Number(), {
        description:
          'Increasing training-quantile edges: one-hot bin columns (x < e0, e0 ≤ x < e1, …, x ≥ last) after the scaled value, all 0 when missing. Lets linear models learn thresholds.',
      }),
    ),
    scaled: Type.Optional(
      Type.Boolean({
        description:
          'false: the standardised value column is left out and the bins alone encode the feature (a step function, no forced linear trend). Absent = true.',
      }),
    ),
    bin_encoding: Type.Optional(
      Type.Union([Type.Literal('one_hot'), Type.Literal('thermometer')], {
        description:
          'How bin_edges become columns. one_hot (default when absent): one column per bin. thermometer: one column per edge, 1 when x ≥ edge (cumulative), so a step at one threshold is a single weight. All 0 when missing.',
      }),
    ),
  }),
  Type.Object({ name: Type.String(), kind: Type.Literal('boolean') }),
  Type.Object({
    name: Type.String(),
    kind: Type.Literal('category'),
    vocabulary: Type.Array(Type.String(), {
      description: 'One-hot columns, in order; anything else (and missing) goes to a final out-of-vocabulary column.',
    }),
  }),
]);
export type PreprocessingColumn = Static<typeof PreprocessingColumnSchema>;

/** Preprocessing state stored in `card.preprocessing`: data, never code. */
export const PreprocessingSchema = Type.Object(
  {
    columns: Type.Array(PreprocessingColumnSchema),
    width: Type.Integer({ description: 'Number of encoded model inputs.' }),
    encoded_names: Type.Array(Type.String(), { description: 'Name of every encoded input, in order.' }),
  },
  { $id: 'Preprocessing' },
);
export type Preprocessing = Static<typeof PreprocessingSchema>;

/** Probability calibration stored in `card.calibration`, applied to the raw model probability. */
export const CalibrationSchema = Type.Union(
  [
    Type.Object({ method: Type.Literal('none') }),
    Type.Object({
      method: Type.Literal('platt'),
      a: Type.Number(),
      b: Type.Number(),
      description: Type.Optional(Type.String()),
    }),
    Type.Object({
      method: Type.Literal('isotonic'),
      x: Type.Array(Type.Number(), { description: 'Increasing raw probabilities (knots).' }),
      y: Type.Array(Type.Number(), {
        description: 'Calibrated probability at each knot; linear in between, flat outside.',
      }),
    }),
  ],
  { $id: 'Calibration' },
);
export type Calibration = Static<typeof CalibrationSchema>;

/**
 * The model card (`data/registry/models/<version>/card.json`): everything needed to trust, reproduce
 * and serve a model. Preprocessing and calibration state live here (data, never code).
 */
export const ModelCardSchema = Type.Object(
  {
    version: Type.String(),
    created_at: Type.String(),
    family: Type.Union(MODEL_FAMILIES.map((f) => Type.Literal(f))),
    features: Type.Array(Type.String(), { description: 'Model input features, in order.' }),
    preprocessing: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Fitted on the training split only; shape: PreprocessingSchema (checked when a model loads).',
    }),
    calibration: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Shape: CalibrationSchema (checked when a model loads), plus the comparison that chose it.',
    }),
    threshold: Type.Number({ description: 'Decision threshold on the calibrated probability.' }),
    master_hash: Type.String({ description: 'Content hash of the master table trained on.' }),
    params: Type.Record(Type.String(), Type.Unknown()),
    cv: Type.Record(Type.String(), Type.Unknown()),
    metrics: Type.Record(Type.String(), Type.Number()),
    training_seconds: Type.Number(),
    backend: Type.String({ description: 'TensorFlow.js backend that trained the model.' }),
    code_version: Type.String(),
    parent: Type.Optional(Nullable(Type.String())),
    role: Type.Optional(
      Type.Union([Type.Literal('candidate'), Type.Literal('baseline')], {
        description: 'Baselines are registered beside each trained model for comparison.',
      }),
    ),
    baselines: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Family → version of the baselines trained on the same data.',
      }),
    ),
    selection_metric: Type.Optional(Type.String({ description: 'CV metric the search maximised (e.g. pr_auc).' })),
    baseline_kind: Type.Optional(
      Type.Union(
        BASELINE_KINDS.map((k) => Type.Literal(k)),
        { description: 'Which baseline this version is (role baseline only).' },
      ),
    ),
    intended_use: Type.Optional(Type.String()),
    target: Type.Optional(Type.String({ description: 'Target column the model predicts.' })),
    horizon_days: Type.Optional(
      Nullable(Type.Integer({ description: "Forecast horizon H in days, from the master manifest's target info." })),
    ),
    population: Type.Optional(
      Type.Object({
        train: PopulationSliceSchema,
        calibration: PopulationSliceSchema,
        sampled: Type.Boolean({ description: 'Train rows were a sample of whole customers (full_round.max_rows).' }),
      }),
    ),
    limitations: Type.Optional(ModelLimitationsSchema),
    evaluation: Type.Optional(
      Type.Object({
        verdict_file: Type.String({
          description:
            "Path under the data folder of the gate's verdict for this version: the one record of the baselines it was compared with and whether it beat them.",
        }),
      }),
    ),
  },
  { $id: 'ModelCard' },
);
export type ModelCard = Static<typeof ModelCardSchema>;
