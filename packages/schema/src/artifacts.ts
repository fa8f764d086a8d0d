import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common';

/** Numeric column profile: the reference drift monitoring compares against. */
export const NumericProfileSchema = Type.Object({
  kind: Type.Literal('numeric'),
  count: Type.Integer(),
  missing: Type.Integer(),
  missing_share: Type.Number(),
  mean: Nullable(Type.Number()),
  std: Nullable(Type.Number()),
  min: Nullable(Type.Number()),
  max: Nullable(Type.Number()),
  quantiles: Type.Record(Type.String(), Type.Number(), { description: 'p01, p05, p25, p50, p75, p95, p99.' }),
  bin_edges: Type.Array(Type.Number(), {
    description: 'Histogram bin edges (length bins + 1); the first and last bins are open-ended for drift.',
  }),
  bin_counts: Type.Array(Type.Integer()),
});
export type NumericProfile = Static<typeof NumericProfileSchema>;

/** Categorical (and boolean) column profile. */
export const CategoricalProfileSchema = Type.Object({
  kind: Type.Literal('categorical'),
  count: Type.Integer(),
  missing: Type.Integer(),
  missing_share: Type.Number(),
  frequencies: Type.Record(Type.String(), Type.Integer()),
});
export type CategoricalProfile = Static<typeof CategoricalProfileSchema>;

/** Distribution profile of a dataset, written by build (`profile.json`). */
export const ProfileSchema = Type.Object(
  {
    created_from: Type.String({ description: 'Master-table hash or window the profile describes.' }),
    rows: Type.Integer(),
    columns: Type.Record(Type.String(), Type.Union([NumericProfileSchema, CategoricalProfileSchema])),
  },
  { $id: 'Profile' },
);
export type Profile = Static<typeof ProfileSchema>;

/** Registry aliases (`data/registry/aliases.json`), updated atomically as one file. */
export const AliasesSchema = Type.Object(
  {
    champion: Nullable(Type.String()),
    challenger: Nullable(Type.String()),
    previous: Nullable(Type.String()),
    updated_at: Type.String(),
  },
  { $id: 'Aliases', additionalProperties: false },
);
export type Aliases = Static<typeof AliasesSchema>;
export type AliasName = 'champion' | 'challenger' | 'previous';

/** One line of the prediction log (`data/monitoring/predictions/date=YYYY-MM-DD/*.jsonl`). */
export const PredictionLogEntrySchema = Type.Object(
  {
    request_id: Type.String(),
    ts: Type.String({ description: 'ISO timestamp of the prediction.' }),
    model_version: Type.String(),
    variant: Type.Union([Type.Literal('champion'), Type.Literal('challenger'), Type.Literal('shadow')]),
    customer_key: Nullable(Type.String()),
    date: Type.String({ description: 'Transaction date of the scored row.' }),
    features: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()])),
    probability: Type.Number(),
    label: Type.Boolean(),
    latency_ms: Type.Number(),
    cpu_us: Type.Number({ description: 'CPU time spent scoring, microseconds.' }),
  },
  { $id: 'PredictionLogEntry', additionalProperties: false },
);
export type PredictionLogEntry = Static<typeof PredictionLogEntrySchema>;

/** One line of the feedback log (`data/monitoring/feedback/date=YYYY-MM-DD/*.jsonl`): a label and when it arrived. */
export const FeedbackLogEntrySchema = Type.Object(
  {
    request_id: Type.String({ minLength: 1 }),
    is_revenge_spending: Type.Boolean(),
    ts: Type.String({ description: 'ISO timestamp the label arrived; the latest label of a request wins.' }),
  },
  { $id: 'FeedbackLogEntry', additionalProperties: false },
);
export type FeedbackLogEntry = Static<typeof FeedbackLogEntrySchema>;

/** One stage run's compute cost (`data/monitoring/runs.jsonl`). */
export const StageRunSchema = Type.Object(
  {
    stage: Type.String(),
    started_at: Type.String(),
    wall_seconds: Type.Number(),
    cpu_seconds: Type.Number(),
    peak_rss_mb: Type.Number(),
    rows_in: Type.Integer(),
    rows_out: Type.Integer(),
    status: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('skipped')]),
    summary: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'StageRun', additionalProperties: false },
);
export type StageRun = Static<typeof StageRunSchema>;
