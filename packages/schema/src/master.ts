import { Type } from '@sinclair/typebox';
import { FeatureRowSchema, type FeatureRow } from './features';

/** Split a master-table row belongs to. `calibration` is a slice held out of train for probability calibration. */
export const SPLITS = ['train', 'calibration', 'test', 'holdout'] as const;
export type Split = (typeof SPLITS)[number];

/**
 * The authorisation-time flag: a transaction whose available / total limit is below the threshold
 * at a non-essential merchant group is revenge spending. Exact arithmetic on one transaction.
 */
export const FLAG = 'is_revenge_spending' as const;

/**
 * The forecast target of a snapshot (a customer at the end of a day with transactions): the
 * customer makes at least one flagged transaction in the next `horizon_days` days.
 */
export const TARGET = 'revenge_in_horizon' as const;

/** One row of the master table: a snapshot's feature row plus target, entity group, split and CV fold. */
export type MasterRow = FeatureRow & {
  revenge_in_horizon: boolean;
  group: string;
  split: Split;
  /** Cross-validation fold on the train split (0-based); -1 outside train. */
  fold: number;
};

/** Schema of a master-table row, derived from the feature-row schema. */
export const MasterRowSchema = Type.Object(
  {
    ...FeatureRowSchema.properties,
    revenge_in_horizon: Type.Boolean({
      description:
        'Target: the customer makes a flagged (revenge-spending) transaction in the next horizon_days days after the snapshot day.',
    }),
    group: Type.String({ description: 'Entity group for group-aware splits and CV (the customer key).' }),
    split: Type.Union(
      SPLITS.map((s) => Type.Literal(s)),
      { description: 'Split the row belongs to.' },
    ),
    fold: Type.Integer({ minimum: -1, description: 'CV fold on the train split, -1 elsewhere.' }),
  },
  { $id: 'MasterRow', additionalProperties: false },
);
