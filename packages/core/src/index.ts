/**
 * @packageDocumentation
 * Shared helpers every stage may use: the data layout, atomic writes, Parquet I/O through
 * apache-arrow + parquet-wasm, params files, the stage command line, progress output, metrics
 * and pseudonymisation.
 */
export { dataLayout, dirsFromEnv } from './paths';
export type { DataLayout } from './paths';
export {
  writeFileAtomic,
  writeJsonAtomic,
  writeDirAtomic,
  readJson,
  cleanTemporaries,
  appendJsonl,
  readJsonl,
} from './atomic';
export {
  parquetToTable,
  writeParquetFile,
  readParquetFile,
  tableFromColumns,
  tableFromRows,
  rowsFromTable,
} from './parquet';
export type { ReadParquetOptions } from './parquet';
export { sha256, sha256File, canonicalJson } from './hash';
export { listPartitions, partitionDir } from './partitions';
export type { DatePartition } from './partitions';
export { customerKey, resolveSecret, SECRET_ENV, DEVELOPMENT_SECRET } from './pseudonymise';
export type { CustomerIdentity } from './pseudonymise';
export { loadParams, packageFile } from './params';
export { createProgress, formatCount } from './progress';
export type { Progress } from './progress';
export { runCli, invalidOptions, isoDateCheck } from './cli';
export { acquireDataLock, acquireShardLock, shardLockFile, DATA_LOCK_FILE, DATA_LOCK_ENV } from './data-lock';
export {
  shardRole,
  parseShardSpec,
  shardSpecCheck,
  describeRole,
  shardOf,
  shardsOfDictionary,
  shardPartName,
  partShard,
  shardTag,
  listShardDirs,
  cleanPartTemporaries,
  removeStaleParts,
  WHOLE,
  SHARDS_ENV,
  SHARD_INDEX_ENV,
  MAX_SHARDS,
} from './shard';
export type { ShardRole } from './shard';
export type { DataLockOwner } from './data-lock';
export type { CliOption, CliSpec, CliContext, StageResult } from './cli';
export {
  rocAuc,
  averagePrecision,
  logLoss,
  brierScore,
  reliabilityBins,
  expectedCalibrationError,
  confusionAt,
  seededRandom,
} from './metrics';
export type { Labels, Scores, ReliabilityBin, Confusion } from './metrics';
export {
  computeFeatures,
  updateCustomerState,
  foldCustomerState,
  cloneCustomerState,
  emptyCustomerState,
  DEFAULT_FEATURE_PARAMS,
  HISTORY_WINDOW_DAYS,
  readOnlineStore,
  parseOnlineStore,
  ONLINE_STORE_FILE,
  epochDay,
  isoFromEpochDay,
  easterSunday,
  brazilianHolidays,
  isBrazilianHoliday,
} from './feature-kernel';
export type {
  FeatureParams,
  FeatureInput,
  CustomerState,
  RecentTransaction,
  OnlineStoreSnapshot,
} from './feature-kernel';
/** The authorisation-time flag: exact arithmetic on one transaction (build labels with it, the API answers it). */
export { revengeFlag, revengeFlagOfRatio, normaliseGroup } from './feature-kernel';
export type { FlagRule, RevengeFlag } from './feature-kernel';
export {
  generate,
  generateChunks,
  formatBrazilianAmount,
  MIBOLSILLO_HEADER,
  MIBOLSILLO_ESSENTIAL_GROUPS,
} from './generator/generate';
export type { GenerateOptions, GeneratorShift } from './generator/generate';
export { compatibleWriterProperties, tableToCompatibleParquet } from './parquet-compat';
export { forEachParquetBatch, readParquetColumnNames, writeParquetBatches } from './parquet-stream';
export type { ParquetBatchOptions, WriteParquetBatchesOptions } from './parquet-stream';
export { computeFeaturesInto, FeatureColumns, FEATURE_INDEX } from './feature-kernel';
export { computeBatchInto, CustomerHistory } from './feature-kernel';
export type { KernelColumns, KernelStrings } from './feature-kernel';
export { readParquetRowCount } from './parquet-row-count';
export { niceTicks, formatTick } from './chart-ticks';
export type { FeatureColumnsOptions, FeatureColumnsArrays } from './feature-kernel';
export { ipcToCompatibleParquet } from './parquet-ipc';
export { openOnlineStore, openEmbeddedOnlineStore } from './online-store/open';
export type { OpenOnlineStoreOptions } from './online-store/open';
export {
  ONLINE_STORE_ENV,
  applyByCustomer,
  snapshotVersion,
  emptySnapshot,
  foldPushed,
  stateLastDate,
  readSnapshotText,
} from './online-store/online-store';
export type {
  OnlineStore,
  OnlineStoreInfo,
  OnlineStoreHealth,
  OnlineStoreBackend,
  PushedTransaction,
  ApplyOutcome,
} from './online-store/online-store';
export { startRedisServer, startNatsServer, freePort } from './online-store/local-services';
export type { LocalService } from './online-store/local-services';
export {
  connectTransactionStream,
  ensureTransactionConsumer,
  TRANSACTION_SUBJECT,
  TRANSACTION_STREAM,
  TRANSACTION_CONSUMER,
  NATS_URL_ENV,
} from './online-store/stream';
export type { TransactionStream } from './online-store/stream';
