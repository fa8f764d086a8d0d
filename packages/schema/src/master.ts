import { Type } from '@sinclair/typebox';
import { FeatureRowSchema, type FeatureRow } from './features';

/** Split a master-table row belongs to. `calibration` is a slice held out of train for probability calibration. */
export const SPLITS = ['train', 'calibration', 'test', 'holdout'] as const;
export type Split = (typeof SPLITS)[number];

/** The target column name. */
export const TARGET = 'is_revenge_spending' as const;

/** One row of the master table: a feature row plus target, entity group, split and CV fold. */
export type MasterRow = FeatureRow & {
  is_revenge_spending: boolean;
  group: string;
  split: Split;
  /** Cross-validation fold on the train split (0-based); -1 outside train. */
  fold: number;
};

/** Schema of a master-table row, derived from the feature-row schema. */
export const MasterRowSchema = Type.Object(
  {
    ...FeatureRowSchema.properties,
    is_revenge_spending: Type.Boolean({ description: 'Target: available limit below the threshold share and a non-essential merchant group.' }),
    group: Type.String({ description: 'Entity group for group-aware splits and CV (the customer key).' }),
    split: Type.Union(SPLITS.map((s) => Type.Literal(s)), { description: 'Split the row belongs to.' }),
    fold: Type.Integer({ minimum: -1, description: 'CV fold on the train split, -1 elsewhere.' }),
  },
  { $id: 'MasterRow', additionalProperties: false },
);
