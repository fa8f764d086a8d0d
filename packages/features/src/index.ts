/**
 * @packageDocumentation
 * The features stage: point-in-time transaction and customer-history features from the lake into a
 * date-partitioned offline feature store and a per-customer online store. The feature kernel itself
 * (`computeFeatures`, `updateCustomerState`, …) lives in `@bolsillo/core` so that serving uses the
 * very same code.
 */
export { readFeatures } from './read-features';
export type { ReadFeaturesQuery } from './read-features';
export { runFeatures, featureManifestPath, featureArrowSchema } from './run';
export { configHash } from './features-plan';
export type { RunFeaturesOptions, RunFeaturesResult } from './run';
export {
  computeFeatureRows,
  computeFeatureBatch,
  computeColumnarBatch,
  foldStates,
  foldColumnarStates,
  historyOrder,
  sortTransactions,
  compareTransactions,
  planIncremental,
} from './pipeline';
export type {
  CustomerStates,
  FeatureBatch,
  ColumnarFeatureBatch,
  FeatureStoreManifest,
  IncrementalPlan,
} from './pipeline';
export { featureTable, featureTableFromColumns } from './feature-table';
export { txnColumnsFromTable, txnColumnsFromRows } from './txn-columns';
export type { TxnColumns, InternedColumn, RawUtf8Column } from './txn-columns';
export { FeaturesParamsSchema } from './params';
export type { FeaturesParams } from './params';
export { renderFeatureDocs } from './docs';
