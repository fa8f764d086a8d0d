import { Type, type Static } from '@sinclair/typebox';

const Severity = Type.Union([Type.Literal('error'), Type.Literal('warn')]);
const Range = Type.Object({ min: Type.Number(), max: Type.Number() }, { additionalProperties: false });

/** Params of the build stage (`packages/build/params.json`). */
export const BuildParamsSchema = Type.Object(
  {
    target: Type.Object(
      {
        threshold: Type.Number({
          exclusiveMinimum: 0,
          maximum: 1,
          description: 'Flag rule: available / total limit strictly below this share is low (compared unrounded).',
        }),
        essential_groups: Type.Array(Type.String(), {
          description: 'Merchant groups that never count as revenge spending.',
        }),
        horizon_days: Type.Integer({
          minimum: 1,
          maximum: 90,
          description:
            'Forecast horizon H: a snapshot on day d is positive when the customer has a flagged transaction on days d+1 … d+H. Also the gap time splits leave between periods and the label window the leakage check verifies.',
        }),
      },
      { additionalProperties: false },
    ),
    quality: Type.Object(
      {
        row_count: Range,
        max_duplicate_share: Type.Number({ minimum: 0, maximum: 1 }),
        freshness: Type.Object(
          {
            max_age_days: Type.Integer({ minimum: 0 }),
            as_of: Type.Union([Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), Type.Null()], {
              description: 'Reference date; null = the run date.',
            }),
            severity: Severity,
          },
          { additionalProperties: false },
        ),
        not_null_mostly: Type.Number({ minimum: 0, maximum: 1 }),
        credit_limit_range: Range,
        amount_range: Range,
        age_range: Range,
        allowed_sex: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    profile: Type.Object({ bins: Type.Integer({ minimum: 2, maximum: 100 }) }, { additionalProperties: false }),
    model_features: Type.Array(Type.String(), {
      minItems: 1,
      description: 'Candidate model features before selection; must pass the leakage check.',
    }),
    leakage: Type.Object(
      {
        max_single_feature_auc: Type.Number({ minimum: 0.5, maximum: 1 }),
        allow: Type.Record(Type.String(), Type.String({ minLength: 10 }), {
          description: 'feature → reason it is allowed although flagged.',
        }),
      },
      { additionalProperties: false },
    ),
    selection: Type.Object(
      {
        near_constant_share: Type.Number({ minimum: 0.5, maximum: 1 }),
        max_abs_correlation: Type.Number({ minimum: 0, maximum: 1 }),
        mi_bins: Type.Integer({ minimum: 2, maximum: 100 }),
        max_rows: Type.Optional(
          Type.Integer({
            minimum: 1000,
            description:
              'Selection and the single-feature leakage AUCs use at most this many train rows: a seeded uniform sample (seed = split.seed + 2) when train is larger, every train row otherwise. Bounds their memory at any table size; default 1000000.',
          }),
        ),
        identity: Type.Optional(
          Type.Object(
            {
              min_customer_share: Type.Number({
                minimum: 0,
                maximum: 1,
                description:
                  'A feature is a candidate identity proxy when it is mostly a customer attribute: for numbers, at least this share of its variance lies between customers (eta squared); for categories and booleans, knowing the customer removes at least this share of the errors in guessing the value (Goodman-Kruskal lambda).',
              }),
              max_rows: Type.Integer({
                minimum: 100,
                description: 'Rows of the grouped CV: whole train customers in a seeded order until this many rows.',
              }),
              folds: Type.Integer({ minimum: 2, maximum: 20, description: 'Customer folds of the grouped CV.' }),
              repeats: Type.Integer({
                minimum: 1,
                maximum: 20,
                description:
                  'Repeats of the grouped CV with other fold seeds (each removal is compared on the same folds).',
              }),
              min_gain: Type.Number({
                description:
                  'A candidate is kept only when removing it lowers grouped-CV PR-AUC (fold mean) by more than min_gain + min_gain_z standard errors of its per-fold deltas; otherwise it is dropped, one per round, the least useful first.',
              }),
              min_gain_z: Type.Number({
                minimum: 0,
                description: 'Standard errors of the per-fold deltas added to min_gain (0: the mean alone decides).',
              }),
              bins: Type.Integer({
                minimum: 2,
                maximum: 64,
                description: 'Equal-frequency bins per numeric feature of the additive logistic model.',
              }),
              l2: Type.Number({
                exclusiveMinimum: 0,
                description: 'Ridge penalty on each bin weight of the additive logistic model.',
              }),
              passes: Type.Integer({
                minimum: 1,
                maximum: 200,
                description: 'Block-Newton passes over the features when fitting it.',
              }),
              seed: Type.Integer({
                description: 'Seed of the customer order (sample) and of the CV folds (seed + 1 + repeat).',
              }),
            },
            {
              additionalProperties: false,
              description:
                'Identity proxies: with customer-grouped evaluation a feature that only identifies a customer cannot generalise. Candidates are measured by grouped-CV drop-column importance with a binned additive logistic model (backward elimination) and dropped when they do not help. Absent: no identity step.',
            },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    split: Type.Object(
      {
        strategy: Type.Union([Type.Literal('group'), Type.Literal('time'), Type.Literal('group_time')], {
          description:
            'group: whole customers per split (test = unseen customers, same period). time: earlier dates train, then calibration, test, holdout, each after a gap of target.horizon_days (test = later period, customers seen). group_time: unseen customers AND later dates (train = train customers before one cut, the other splits their own customers after it; about half the rows are in no split). CV folds are grouped by customer in all three. See docs/build-design.md for the measurement behind the default.',
        }),
        seed: Type.Integer(),
        sizes: Type.Object(
          {
            calibration: Type.Number({ minimum: 0, maximum: 1 }),
            test: Type.Number({ minimum: 0, maximum: 1 }),
            holdout: Type.Number({ minimum: 0, maximum: 1 }),
          },
          { additionalProperties: false },
        ),
        folds: Type.Integer({ minimum: 2, maximum: 20 }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'BuildParams', additionalProperties: false },
);

/** Typed build params. */
export type BuildParams = Static<typeof BuildParamsSchema>;
