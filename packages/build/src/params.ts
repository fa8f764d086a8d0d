import { Type, type Static } from '@sinclair/typebox';

const Severity = Type.Union([Type.Literal('error'), Type.Literal('warn')]);
const Range = Type.Object({ min: Type.Number(), max: Type.Number() }, { additionalProperties: false });

/** Params of the build stage (`packages/build/params.json`). */
export const BuildParamsSchema = Type.Object(
  {
    target: Type.Object(
      {
        threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'available / total limit strictly below this share is low (compared unrounded).' }),
        essential_groups: Type.Array(Type.String(), { description: 'Merchant groups that never count as revenge spending.' }),
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
            as_of: Type.Union([Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), Type.Null()], { description: 'Reference date; null = the run date.' }),
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
    model_features: Type.Array(Type.String(), { minItems: 1, description: 'Candidate model features before selection; must pass the leakage check.' }),
    leakage: Type.Object(
      {
        max_single_feature_auc: Type.Number({ minimum: 0.5, maximum: 1 }),
        allow: Type.Record(Type.String(), Type.String({ minLength: 10 }), { description: 'feature → reason it is allowed although flagged.' }),
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
      },
      { additionalProperties: false },
    ),
    split: Type.Object(
      {
        strategy: Type.Union([Type.Literal('group'), Type.Literal('time')]),
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
