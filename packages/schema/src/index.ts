/**
 * @packageDocumentation
 * One definition of every record in the pipeline. Types, ajv validators, Arrow/Parquet schemas and
 * OpenAPI components are all derived from the schemas exported here.
 */
export { Nullable, JsonNumber, IsoDateSchema } from './common';
export { RawRowSchema, RAW_COLUMNS, RAW_TO_CANONICAL } from './raw';
export type { RawRow } from './raw';
export { TransactionSchema, TRANSACTION_COLUMNS, IDENTITY_FIELDS } from './transaction';
export type { Transaction } from './transaction';
export {
  FEATURE_DECLARATIONS,
  FEATURE_NAMES,
  FEATURE_KEY_COLUMNS,
  FeatureValuesSchema,
  FeatureRowSchema,
  featureDeclaration,
} from './features';
export type { FeatureDeclaration, FeatureDtype, FeatureName, FeatureValues, FeatureRow } from './features';
export { FLAG, MasterRowSchema, SPLITS, TARGET } from './master';
export type { MasterRow, Split } from './master';
export {
  PredictionRequestSchema,
  BatchPredictionRequestSchema,
  PredictionResponseSchema,
  BatchPredictionResponseSchema,
  FeedbackSchema,
  PREDICTION_EXAMPLE,
  MAX_BATCH,
} from './prediction';
export type {
  PredictionRequest,
  BatchPredictionRequest,
  PredictionResponse,
  BatchPredictionResponse,
  Feedback,
} from './prediction';
export {
  ProfileSchema,
  NumericProfileSchema,
  CategoricalProfileSchema,
  AliasesSchema,
  PredictionLogEntrySchema,
  FeedbackLogEntrySchema,
  StageRunSchema,
} from './artifacts';
export type {
  Profile,
  NumericProfile,
  CategoricalProfile,
  Aliases,
  AliasName,
  PredictionLogEntry,
  FeedbackLogEntry,
  StageRun,
} from './artifacts';
export {
  ModelCardSchema,
  MODEL_FAMILIES,
  BASELINE_KINDS,
  PopulationSliceSchema,
  ModelLimitationsSchema,
} from './model-card';
export type { ModelCard, ModelFamily, BaselineKind, PopulationSlice, ModelLimitations } from './model-card';
export { PreprocessingSchema, PreprocessingColumnSchema, CalibrationSchema } from './model-card';
export type { Preprocessing, PreprocessingColumn, Calibration } from './model-card';
export { validatorFor, describeErrors, arrowSchemaFor, openApiComponent } from './derive';
export {
  TransactionPushSchema,
  BatchTransactionPushSchema,
  TransactionPushResponseSchema,
  PushOutcomeSchema,
  TRANSACTION_PUSH_EXAMPLE,
} from './push';
export type { TransactionPush, TransactionPushResponse } from './push';
export {
  MasterLatestSchema,
  MasterManifestSchema,
  TargetSummarySchema,
  FlagSummarySchema,
  SelectionSchema,
  SelectionDecisionSchema,
  IdentityReportSchema,
  IdentityCandidateSchema,
  IdentityRoundSchema,
  SplitSummarySchema,
  ExpectationSchema,
  ExpectationResultSchema,
  QualityReportSchema,
  FeatureLeakageSchema,
  LeakageReportSchema,
  BuildFailureSchema,
} from './master-files';
export type {
  MasterLatest,
  MasterManifest,
  TargetSummary,
  FlagSummary,
  Selection,
  SelectionDecision,
  IdentityReport,
  IdentityCandidate,
  IdentityRound,
  SplitSummary,
  Severity,
  Expectation,
  ExpectationResult,
  QualityReport,
  LeakageCheck,
  FeatureLeakage,
  LeakageReport,
  BuildFailure,
} from './master-files';
export {
  ValueMatrixSchema,
  DecisionSchema,
  EstimateSchema,
  GateVerdictSchema,
  MetricSetSchema,
  ContenderResultSchema,
  EvaluationMetricsSchema,
} from './evaluation-files';
export type {
  ValueMatrix,
  Decision,
  EstimateRecord,
  GateVerdict,
  ContenderRecord,
  EvaluationMetrics,
} from './evaluation-files';
export {
  IngestManifestSchema,
  KAnonymityReportSchema,
  KAnonymitySetSchema,
  FeatureStoreManifestSchema,
  FeatureParamsSchema,
} from './store-files';
export type { IngestManifestRecord, KAnonymityRecord, FeatureStoreManifestRecord } from './store-files';
