import { Type, type TSchema, type TObject } from '@sinclair/typebox';
import { IsoDateSchema, Nullable } from './common';
import type { Transaction } from './transaction';

/** Storage type of a feature. `category` is a string column with a vocabulary fitted in training. */
export type FeatureDtype = 'number' | 'integer' | 'boolean' | 'category';

/** A feature declared once; the declarations drive the feature-row schema, the docs and leakage bookkeeping. */
export interface FeatureDeclaration {
  readonly name: string;
  readonly dtype: FeatureDtype;
  readonly nullable: boolean;
  readonly description: string;
  /** Canonical transaction columns the value is computed from. */
  readonly sources: readonly (keyof Transaction)[];
  /** True when the value is known at the snapshot (just after the transaction), so a forecast may use it. */
  readonly knownBeforeTransaction: boolean;
  readonly group: 'transaction' | 'history';
  /** Null is the usual value, not a gap (e.g. "days since the last event" when there was none). */
  readonly usuallyNull?: boolean;
}

/**
 * Every feature of the pipeline, as of just after a transaction: transaction features come from the
 * row itself; history features from the customer's state after folding this row into it (the row,
 * the customer's earlier rows of the same day, and earlier days). The state after the customer's
 * last row of a day is that day's snapshot, the grain the forecast is trained and scored at.
 */
export const FEATURE_DECLARATIONS = [
  {
    name: 'amount',
    dtype: 'number',
    nullable: true,
    group: 'transaction',
    sources: ['amount'],
    knownBeforeTransaction: true,
    description: 'Transaction amount (BRL); null when missing in the source.',
  },
  {
    name: 'log_amount',
    dtype: 'number',
    nullable: true,
    group: 'transaction',
    sources: ['amount'],
    knownBeforeTransaction: true,
    description: 'Natural log of 1 + amount.',
  },
  {
    name: 'amount_missing',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['amount'],
    knownBeforeTransaction: true,
    description: 'The source row had the missing-amount marker.',
  },
  {
    name: 'day_of_week',
    dtype: 'integer',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Day of week, 0 = Sunday … 6 = Saturday.',
  },
  {
    name: 'day_of_month',
    dtype: 'integer',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Day of month, 1–31.',
  },
  {
    name: 'month',
    dtype: 'integer',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Month of year, 1–12.',
  },
  {
    name: 'is_weekend',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Saturday or Sunday.',
  },
  {
    name: 'is_month_start',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'One of the first three days of the month.',
  },
  {
    name: 'is_month_end',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'One of the last three days of the month.',
  },
  {
    name: 'is_holiday',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Brazilian national holiday.',
  },
  {
    name: 'merchant_group',
    dtype: 'category',
    nullable: false,
    group: 'transaction',
    sources: ['merchant_group'],
    knownBeforeTransaction: true,
    description: 'Merchant group (normalised).',
  },
  {
    name: 'is_essential',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['merchant_group'],
    knownBeforeTransaction: true,
    description: 'Merchant group is in the configured essential list.',
  },
  {
    name: 'merchant_abroad',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['merchant_country'],
    knownBeforeTransaction: true,
    description: 'Merchant country is known and not BR.',
  },
  {
    name: 'merchant_city_differs',
    dtype: 'boolean',
    nullable: false,
    group: 'transaction',
    sources: ['merchant_city', 'city'],
    knownBeforeTransaction: true,
    description: 'Merchant city is known and differs from the home city.',
  },
  {
    name: 'account_age_months',
    dtype: 'integer',
    nullable: false,
    group: 'transaction',
    sources: ['account_cohort', 'date'],
    knownBeforeTransaction: true,
    description: 'Months from the account cohort to the transaction date.',
  },
  {
    name: 'age',
    dtype: 'integer',
    nullable: false,
    group: 'transaction',
    sources: ['age'],
    knownBeforeTransaction: true,
    description: 'Customer age in years.',
  },
  {
    name: 'sex',
    dtype: 'category',
    nullable: false,
    group: 'transaction',
    sources: ['sex'],
    knownBeforeTransaction: true,
    description: 'Customer sex.',
  },
  {
    name: 'state',
    dtype: 'category',
    nullable: false,
    group: 'transaction',
    sources: ['state'],
    knownBeforeTransaction: true,
    description: 'Customer home state.',
  },
  {
    name: 'credit_limit',
    dtype: 'number',
    nullable: false,
    group: 'transaction',
    sources: ['credit_limit'],
    knownBeforeTransaction: true,
    description: 'Total credit limit (BRL).',
  },
  {
    name: 'available_ratio',
    dtype: 'number',
    nullable: true,
    group: 'transaction',
    sources: ['available_limit', 'credit_limit'],
    knownBeforeTransaction: true,
    description:
      'Available limit / total limit of this transaction (the balance on the authorisation request). Null when the total limit is 0.',
  },
  {
    name: 'day_min_available_ratio',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'date'],
    knownBeforeTransaction: true,
    description:
      "Lowest available / total limit among the customer's transactions of the day so far (this one included): the current headroom at the snapshot, independent of the order within the day.",
  },
  {
    name: 'day_count',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: "The customer's transactions of the day so far, this one included.",
  },
  {
    name: 'day_sum',
    dtype: 'number',
    nullable: false,
    group: 'history',
    sources: ['date', 'amount'],
    knownBeforeTransaction: true,
    description: "The customer's spending of the day so far, this one included (a missing amount counts 0).",
  },
  {
    name: 'hist_count_7d',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Customer transactions in the 7 days up to and including this one.',
  },
  {
    name: 'hist_sum_7d',
    dtype: 'number',
    nullable: false,
    group: 'history',
    sources: ['date', 'amount'],
    knownBeforeTransaction: true,
    description: 'Customer spending in the 7 days up to and including this transaction.',
  },
  {
    name: 'hist_count_30d',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Customer transactions in the 30 days up to and including this one.',
  },
  {
    name: 'hist_sum_30d',
    dtype: 'number',
    nullable: false,
    group: 'history',
    sources: ['date', 'amount'],
    knownBeforeTransaction: true,
    description: 'Customer spending in the 30 days up to and including this transaction.',
  },
  {
    name: 'hist_nonessential_share_30d',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['date', 'amount', 'merchant_group'],
    knownBeforeTransaction: true,
    description: 'Share of the 30-day spending that went to non-essential merchant groups; null without spending.',
  },
  {
    name: 'active_days_30d',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: 'Distinct days with a transaction in the 30 days up to and including this one.',
  },
  {
    name: 'revenge_count_today',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'merchant_group', 'date'],
    knownBeforeTransaction: true,
    description:
      'Flagged transactions (available ratio below the threshold at a non-essential group) of the day so far, this one included.',
  },
  {
    name: 'revenge_count_7d',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'merchant_group', 'date'],
    knownBeforeTransaction: true,
    description: 'Flagged transactions in the 7 days up to and including this one.',
  },
  {
    name: 'revenge_count_30d',
    dtype: 'integer',
    nullable: false,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'merchant_group', 'date'],
    knownBeforeTransaction: true,
    description: 'Flagged transactions in the 30 days up to and including this one.',
  },
  {
    name: 'days_since_revenge',
    dtype: 'number',
    nullable: true,
    usuallyNull: true,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'merchant_group', 'date'],
    knownBeforeTransaction: true,
    description: 'Days since the latest flagged transaction in the 30-day window (0 when today); null when none.',
  },
  {
    name: 'min_available_ratio_7d',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'date'],
    knownBeforeTransaction: true,
    description: 'Lowest available / total limit in the 7 days up to and including this transaction.',
  },
  {
    name: 'mean_available_ratio_30d',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'date'],
    knownBeforeTransaction: true,
    description: 'Mean available / total limit over the transactions of the 30 days up to and including this one.',
  },
  {
    name: 'available_ratio_trend_30d',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['available_limit', 'credit_limit', 'date'],
    knownBeforeTransaction: true,
    description: 'day_min_available_ratio minus mean_available_ratio_30d: negative when headroom is falling.',
  },
  {
    name: 'days_since_prev',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['date'],
    knownBeforeTransaction: true,
    description: "Days since the customer's previous transaction (0 on the same day); null for the first one.",
  },
  {
    name: 'amount_to_running_mean',
    dtype: 'number',
    nullable: true,
    group: 'history',
    sources: ['amount'],
    knownBeforeTransaction: true,
    description: "Amount divided by the mean of the customer's earlier amounts; null without history or amount.",
  },
] as const satisfies readonly FeatureDeclaration[];

type Decl = (typeof FEATURE_DECLARATIONS)[number];
type DtypeValue<D extends FeatureDtype> = D extends 'boolean' ? boolean : D extends 'category' ? string : number;
type DeclValue<D extends Decl> = D['nullable'] extends true ? DtypeValue<D['dtype']> | null : DtypeValue<D['dtype']>;

/** Name of a declared feature. */
export type FeatureName = Decl['name'];

/** The feature values of one transaction, typed from {@link FEATURE_DECLARATIONS}. */
export type FeatureValues = { [D in Decl as D['name']]: DeclValue<D> };

/** Columns that identify a feature row (not features themselves). */
export const FEATURE_KEY_COLUMNS = ['txn_id', 'customer_key', 'date'] as const;

/** A row of the offline feature store: keys plus every declared feature. */
export type FeatureRow = { txn_id: string; customer_key: string; date: string } & FeatureValues;

/** Names of all declared features, in declaration order. */
export const FEATURE_NAMES = FEATURE_DECLARATIONS.map((d) => d.name) as FeatureName[];

/** Look up a declaration by name. */
export function featureDeclaration(name: string): FeatureDeclaration | undefined {
  return (FEATURE_DECLARATIONS as readonly FeatureDeclaration[]).find((d) => d.name === name);
}

function dtypeSchema(decl: FeatureDeclaration): TSchema {
  const base =
    decl.dtype === 'boolean'
      ? Type.Boolean({ description: decl.description })
      : decl.dtype === 'category'
        ? Type.String({ description: decl.description })
        : decl.dtype === 'integer'
          ? Type.Integer({ description: decl.description })
          : Type.Number({ description: decl.description });
  return decl.nullable ? Nullable(base) : base;
}

/** Schema of the feature values alone, derived from the declarations. */
export const FeatureValuesSchema: TObject = Type.Object(
  Object.fromEntries((FEATURE_DECLARATIONS as readonly FeatureDeclaration[]).map((d) => [d.name, dtypeSchema(d)])),
  { $id: 'FeatureValues', additionalProperties: false },
);

/** Schema of a feature-store row, derived from the declarations. */
export const FeatureRowSchema: TObject = Type.Object(
  {
    txn_id: Type.String({ description: 'Transaction id (source file and line).' }),
    customer_key: Type.String({ description: 'Pseudonymised customer key.' }),
    date: IsoDateSchema,
    ...FeatureValuesSchema.properties,
  },
  { $id: 'FeatureRow', additionalProperties: false },
);
