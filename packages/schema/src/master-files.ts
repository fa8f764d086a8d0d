/**
 * The files the build stage hands on (`master/latest.json`, `master/<hash>/*.json`): train,
 * evaluate, monitor and serve read them, people review them. The build writes them through these
 * types and every reader validates them (`readContract` in core).
 */
import { Type, type Static } from '@sinclair/typebox';
import { IsoDateSchema, JsonNumber, Nullable } from './common';

const Count = Type.Integer({ minimum: 0 });

/** `master/latest.json`: which master table is current. Written last, after the table's folder is complete. */
export const MasterLatestSchema = Type.Object(
  {
    hash: Type.String({
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Folder name of the current master table under master/ (the hash of its content, params and code).',
    }),
  },
  { title: 'MasterLatest' },
);
export type MasterLatest = Static<typeof MasterLatestSchema>;

/** The flag's rule and counts over every transaction. */
export const FlagSummarySchema = Type.Object({
  name: Type.String(),
  threshold: Type.Number(),
  essential_groups: Type.Array(Type.String()),
  rows: Count,
  flagged: Count,
  not_flagged: Count,
  excluded: Type.Object({ total: Count, missing_ratio: Count, no_credit_limit: Count }),
  positives_rounded_rule: Count,
});
export type FlagSummary = Static<typeof FlagSummarySchema>;

/** The forecast target on snapshots, and the flag it is built from (manifest `target`, and the report). */
export const TargetSummarySchema = Type.Object({
  name: Type.String(),
  horizon_days: Type.Integer({ minimum: 1, description: 'H: the target looks at days d+1 .. d+H.' }),
  rows_in: Type.Integer({ minimum: 0, description: 'Transactions read (feature-store rows).' }),
  snapshots: Type.Integer({ minimum: 0, description: 'Snapshots (customer-days) in the data.' }),
  censored: Type.Integer({ minimum: 0, description: 'Snapshots whose horizon runs past data_end.' }),
  rows_out: Type.Integer({ minimum: 0, description: 'Master rows: snapshots less censored and unassigned ones.' }),
  positives: Count,
  negatives: Count,
  prevalence: Type.Number(),
  customers: Count,
  positive_customers: Count,
  data_end: Nullable(IsoDateSchema),
  flag: FlagSummarySchema,
});
export type TargetSummary = Static<typeof TargetSummarySchema>;

/** `master/<hash>/manifest.json`: what the master table was built from, with which params and code. */
export const MasterManifestSchema = Type.Object(
  {
    hash: Type.String(),
    content_hash: Type.String({ description: 'Hash of the master rows alone.' }),
    rows: Count,
    columns: Type.Array(Type.String()),
    inputs: Type.Array(
      Type.Object({
        date: IsoDateSchema,
        file: Type.String({ description: 'Feature-store file, relative to the data folder.' }),
        sha256: Type.String(),
        rows: Count,
      }),
    ),
    params: Type.Record(Type.String(), Type.Unknown(), { description: "The build's params (BuildParams)." }),
    params_file: Type.String(),
    code_version: Type.String({ description: "Hash of the build stage's sources." }),
    freshness_as_of: IsoDateSchema,
    target: TargetSummarySchema,
    model_features: Type.Array(Type.String()),
    files: Type.Array(Type.String()),
  },
  { title: 'MasterManifest' },
);
export type MasterManifest = Static<typeof MasterManifestSchema>;

/** One recorded selection decision. */
export const SelectionDecisionSchema = Type.Object({
  feature: Type.String(),
  action: Type.Union([Type.Literal('keep'), Type.Literal('drop')]),
  reason: Type.String(),
  mutual_information: Type.Number({ description: 'Mutual information with the target on train (bits).' }),
  rank: Nullable(
    Type.Integer({ description: 'Rank by mutual information among kept features (1 = most informative).' }),
  ),
});
export type SelectionDecision = Static<typeof SelectionDecisionSchema>;

/** How much of a feature is a customer attribute, and what removing it did to grouped CV. */
export const IdentityCandidateSchema = Type.Object({
  feature: Type.String(),
  measure: Type.Union([Type.Literal('eta_squared'), Type.Literal('lambda')], {
    description:
      'eta² for numbers (share of the variance between customers); Goodman–Kruskal lambda for categories and booleans.',
  }),
  customer_share: Type.Number(),
  tested: Type.Boolean({ description: 'customer_share ≥ min_customer_share: measured by drop-column importance.' }),
  action: Nullable(Type.Union([Type.Literal('keep'), Type.Literal('drop')])),
  delta_pr_auc: Nullable(Type.Number({ description: 'Fold-mean PR-AUC with it minus without it.' })),
  delta_sd: Nullable(Type.Number({ description: 'Standard deviation of the per-fold deltas.' })),
  delta_log_loss: Nullable(Type.Number({ description: 'Mean log loss without it minus with it.' })),
  folds_better_without: Nullable(Type.Integer()),
  folds: Nullable(Type.Integer()),
  round: Nullable(Type.Integer()),
});
export type IdentityCandidate = Static<typeof IdentityCandidateSchema>;

/** One backward-elimination round: the model's score and every remaining candidate's delta. */
export const IdentityRoundSchema = Type.Object({
  round: Type.Integer(),
  features: Count,
  pr_auc: JsonNumber(),
  log_loss: JsonNumber(),
  deltas: Type.Record(Type.String(), JsonNumber()),
  dropped: Nullable(Type.String()),
});
export type IdentityRound = Static<typeof IdentityRoundSchema>;

/** The identity step's record (`selection.json` `identity`). */
export const IdentityReportSchema = Type.Object({
  model: Type.String(),
  metric: Type.Literal('pr_auc'),
  params: Type.Record(Type.String(), Type.Unknown(), { description: "The build params' selection.identity." }),
  rows: Count,
  customers: Count,
  positives: Count,
  positive_customers: Count,
  skipped: Nullable(Type.String({ description: 'Why nothing was measured (too few customers or positives).' })),
  rounds: Type.Array(IdentityRoundSchema),
  candidates: Type.Array(IdentityCandidateSchema),
  dropped: Type.Array(Type.String()),
});
export type IdentityReport = Static<typeof IdentityReportSchema>;

/** `master/<hash>/selection.json`: the model feature list train uses, and why every candidate is in or out. */
export const SelectionSchema = Type.Object(
  {
    features: Type.Array(Type.String(), { description: 'Model features, in order.' }),
    fitted_on: Type.Literal('train'),
    rows: Type.Integer({ minimum: 0, description: 'Train rows selection was fitted on.' }),
    train_rows: Type.Optional(Count),
    sample_seed: Type.Optional(
      Nullable(Type.Integer({ description: 'Seed of the uniform train sample; null when not sampled.' })),
    ),
    decisions: Type.Array(SelectionDecisionSchema),
    identity: Type.Optional(Nullable(IdentityReportSchema)),
  },
  { title: 'Selection' },
);
export type Selection = Static<typeof SelectionSchema>;

/** A split name (`SPLITS` in master.ts), as a record key. */
const SplitKey = Type.Union([
  Type.Literal('train'),
  Type.Literal('calibration'),
  Type.Literal('test'),
  Type.Literal('holdout'),
]);

/** `master/<hash>/splits.json`: sizes and prevalence per split and per CV fold. */
export const SplitSummarySchema = Type.Object(
  {
    strategy: Type.Union([Type.Literal('group'), Type.Literal('time'), Type.Literal('group_time')]),
    seed: Type.Integer(),
    gap_days: Type.Integer({
      minimum: 0,
      description: 'Days between one split and the next in time (time and group_time): the target horizon.',
    }),
    unassigned: Type.Object({ rows: Count, positives: Count, share: Type.Number() }),
    requested: Type.Record(SplitKey, Type.Number()),
    splits: Type.Record(
      SplitKey,
      Type.Object({
        rows: Count,
        share: Type.Number(),
        positives: Count,
        prevalence: Type.Number(),
        groups: Count,
        date_min: Nullable(Type.String()),
        date_max: Nullable(Type.String()),
      }),
    ),
    folds: Type.Array(
      Type.Object({ fold: Type.Integer(), rows: Count, positives: Count, prevalence: Type.Number(), groups: Count }),
    ),
    groups: Type.Record(SplitKey, Type.Array(Type.String()), { description: 'Customer keys per split, sorted.' }),
  },
  { title: 'SplitSummary' },
);
export type SplitSummary = Static<typeof SplitSummarySchema>;

/** How bad a failed expectation is: `error` stops the build, `warn` is reported and the build goes on. */
const SeveritySchema = Type.Union([Type.Literal('error'), Type.Literal('warn')]);
export type Severity = Static<typeof SeveritySchema>;

/** One declarative expectation of the quality suite (in the spirit of Great Expectations). */
export const ExpectationSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('not_null'),
    column: Type.String(),
    mostly: Type.Number(),
    severity: SeveritySchema,
  }),
  Type.Object({
    kind: Type.Literal('between'),
    column: Type.String(),
    min: Type.Number(),
    max: Type.Number(),
    mostly: Type.Number(),
    severity: SeveritySchema,
  }),
  Type.Object({
    kind: Type.Literal('in_set'),
    column: Type.String(),
    values: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    mostly: Type.Number(),
    severity: SeveritySchema,
  }),
  Type.Object({ kind: Type.Literal('unique'), column: Type.String(), severity: SeveritySchema }),
  Type.Object({
    kind: Type.Literal('row_count_between'),
    min: Type.Number(),
    max: Type.Number(),
    severity: SeveritySchema,
  }),
  Type.Object({
    kind: Type.Literal('fresh'),
    column: Type.String(),
    as_of: IsoDateSchema,
    max_age_days: Type.Number(),
    severity: SeveritySchema,
  }),
  Type.Object({
    kind: Type.Literal('duplicate_share_below'),
    columns: Type.Array(Type.String()),
    max: Type.Number(),
    severity: SeveritySchema,
  }),
]);
export type Expectation = Static<typeof ExpectationSchema>;

/** The outcome of one expectation, with what was observed. */
export const ExpectationResultSchema = Type.Object({
  id: Type.String(),
  expectation: ExpectationSchema,
  success: Type.Boolean(),
  observed: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
});
export type ExpectationResult = Static<typeof ExpectationResultSchema>;

/** `master/<hash>/quality.json`: the outcome of the quality suite. */
export const QualityReportSchema = Type.Object(
  {
    rows: Count,
    success: Type.Boolean(),
    evaluated: Count,
    failed_errors: Type.Array(Type.String()),
    failed_warnings: Type.Array(Type.String()),
    results: Type.Array(ExpectationResultSchema),
  },
  { title: 'QualityReport' },
);
export type QualityReport = Static<typeof QualityReportSchema>;

/** Which leakage check raised a flag. */
const LeakageCheckSchema = Type.Union([
  Type.Literal('target_source'),
  Type.Literal('single_feature_power'),
  Type.Literal('not_known_before'),
]);
export type LeakageCheck = Static<typeof LeakageCheckSchema>;

/** Leakage findings of one feature. */
export const FeatureLeakageSchema = Type.Object({
  feature: Type.String(),
  flags: Type.Array(Type.Object({ check: LeakageCheckSchema, detail: Type.String() })),
  notes: Type.Array(Type.String(), { description: 'Observations that are not leaks.' }),
  train_auc: Nullable(Type.Number({ description: 'Single-feature ROC AUC on train, folded to ≥ 0.5.' })),
  in_model: Type.Boolean(),
  allowed_reason: Nullable(Type.String({ description: 'Why a flagged feature is allowed (params allow-list).' })),
  blocking: Type.Boolean({ description: 'Flagged, in the model and not allowed: fails the build.' }),
});
export type FeatureLeakage = Static<typeof FeatureLeakageSchema>;

/** `master/<hash>/leakage.json`: the leakage checks and what they found. */
export const LeakageReportSchema = Type.Object(
  {
    target_sources: Type.Array(Type.String()),
    target_window: Nullable(
      Type.Object(
        { from_day: Type.Literal(1), to_day: Type.Integer(), horizon_days: Type.Integer() },
        { description: "The target's window relative to a snapshot on day d: days d+1 .. d+H." },
      ),
    ),
    label_windows: Type.Array(
      Type.Object({
        from: SplitKey,
        to: SplitKey,
        from_last: Type.String(),
        to_first: Type.String(),
        gap_days: Type.Integer(),
        shared_customers: Count,
        overlaps: Type.Boolean(),
      }),
    ),
    max_single_feature_auc: Type.Number(),
    features: Type.Array(FeatureLeakageSchema),
    flagged: Type.Array(Type.String()),
    entity_overlap: Type.Object({
      groups: Count,
      examples: Type.Array(Type.String()),
      blocking: Type.Boolean(),
      note: Type.String(),
    }),
    identical_rows_across_splits: Type.Object({ rows: Count, examples: Type.Array(Type.String()) }),
    auc_rows: Type.Object({ rows: Count, train_rows: Count, seed: Nullable(Type.Integer()) }),
    passed: Type.Boolean(),
    failures: Type.Array(Type.String()),
  },
  { title: 'LeakageReport' },
);
export type LeakageReport = Static<typeof LeakageReportSchema>;

/** `master/last-failure.json`: the evidence of the last build a quality or leakage gate stopped. */
export const BuildFailureSchema = Type.Object(
  {
    message: Type.String(),
    quality: Nullable(QualityReportSchema),
    leakage: Nullable(LeakageReportSchema),
  },
  { title: 'BuildFailure' },
);
export type BuildFailure = Static<typeof BuildFailureSchema>;
