/**
 * @packageDocumentation
 * What every stage shares: the data folder and its files, Parquet I/O, the stage command line and
 * params, metrics, pseudonymisation, the feature kernel, the online store and the synthetic
 * generator. No TensorFlow here: the model runtime is `@bolsillo/model`.
 */

/** The data folder: where each dataset lives, atomic writes, date partitions, the single-writer lock, content hashes. */
export { DATASETS, dataLayout, registryLayout, catalogueMarkdown, schemaName, dirsFromEnv } from './paths';
export type { DataLayout, RegistryLayout, Dataset, DatasetKey } from './paths';
export type { StagedFile } from './atomic';
export { readContract, readContractLines, writeContract, checkContract } from './contract';
export {
  writeFileAtomic,
  stageFileAtomic,
  writeJsonAtomic,
  writeDirAtomic,
  readJson,
  cleanTemporaries,
  appendJsonl,
  readJsonl,
} from './atomic';
export { listPartitions, partitionDir } from './partitions';
export type { DatePartition } from './partitions';
export { acquireDataLock, acquireShardLock, shardLockFile, DATA_LOCK_FILE, DATA_LOCK_ENV } from './data-lock';
export type { DataLockOwner } from './data-lock';
export {
  sha256,
  sha256File,
  canonicalJson,
  cyrb53,
  cyrb53Lane1,
  cyrb53Lane2,
  cyrb53Finish,
  CYRB53_SEED_1,
  CYRB53_SEED_2,
} from './hash';

/** Sharding a stage's run (`--shard i/N`, Kubernetes Indexed Jobs): roles, customer → shard, shard parts. */
export {
  shardRole,
  parseShardSpec,
  shardSpecCheck,
  parseShardCount,
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

/** Parquet through apache-arrow + parquet-wasm: whole tables, batch streams, and the settings every reader opens. */
export {
  parquetToTable,
  writeParquetFile,
  readParquetFile,
  tableFromColumns,
  tableFromRows,
  rowsFromTable,
} from './parquet';
export type { ReadParquetOptions } from './parquet';
export { forEachParquetBatch, parquetBatches, readParquetColumnNames, writeParquetBatches } from './parquet-stream';
export type { ParquetBatchOptions, WriteParquetBatchesOptions } from './parquet-stream';
export {
  compatibleWriterProperties,
  tableToCompatibleParquet,
  parquetColumnCodec,
  PARQUET_COMPRESSIONS,
  DEFAULT_PARQUET_COMPRESSION,
} from './parquet-compat';
export type { CompatibleWriterOptions, ParquetCompression } from './parquet-compat';
export { ipcToCompatibleParquet } from './parquet-ipc';
export { readParquetRowCount } from './parquet-row-count';
export { parquetContinuation, parquetFileSet } from './parquet-set';

/** Worker threads running a package's own typed module, request/reply channels to them, per-thread CPU time. */
export { startWorkerModule, isWorkerAlive, WorkerChannel, serveChannel, threadCpuSeconds } from './worker-thread';
export type { WorkerModuleOptions, WorkerReply } from './worker-thread';

/** A stage's command line, its params file and its progress output. */
export { runCli, invalidOptions, isoDateCheck } from './cli';
export type { CliOption, CliSpec, CliContext, StageResult } from './cli';
export { loadParams, packageFile } from './params';
export { createProgress, formatCount, memoryNote } from './progress';
export type { Progress } from './progress';

/** Metrics for scores against labels, the seeded random source and reservoir sample, histogram bins, chart axis ticks. */
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
export { niceTicks, formatTick } from './chart-ticks';
export { Reservoir } from './sampling';
export { binIndex } from './histogram';

/** Pseudonymisation: the keyed customer key that replaces a customer's identity. */
export { customerKey, resolveSecret, SECRET_ENV, DEVELOPMENT_SECRET } from './pseudonymise';
export type { CustomerIdentity } from './pseudonymise';

/**
 * The feature kernel: one code path for offline features, online serving and monitoring, row by row
 * (`computeFeatures`) or over typed columns (`computeBatchInto`), with the calendar it needs.
 */
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
export { computeFeaturesInto, FeatureColumns, FEATURE_INDEX } from './feature-kernel';
export { computeBatchInto, CustomerHistory } from './feature-kernel';
export type { KernelColumns, KernelStrings, FeatureColumnsOptions, FeatureColumnsArrays } from './feature-kernel';

/** The authorisation-time flag: exact arithmetic on one transaction (build labels with it, the API answers it). */
export { revengeFlag, revengeFlagOfRatio, normaliseGroup } from './feature-kernel';
export type { FlagRule, RevengeFlag } from './feature-kernel';

/** The online store (customer states for serving: embedded LMDB or Redis) and the NATS transaction stream. */
export { openOnlineStore, openEmbeddedOnlineStore } from './online-store/open';
export type { OpenOnlineStoreOptions } from './online-store/open';
export {
  ONLINE_STORE_ENV,
  applyByCustomer,
  snapshotVersion,
  emptySnapshot,
  foldPushed,
  stateLastDate,
} from './online-store/online-store';
export { SnapshotFile } from './online-store/snapshot-file';
export type { SnapshotEntry, SnapshotSummary, SnapshotFileOptions } from './online-store/snapshot-file';
export type {
  OnlineStore,
  OnlineStoreInfo,
  OnlineStoreHealth,
  OnlineStoreBackend,
  PushedTransaction,
  ApplyOutcome,
} from './online-store/online-store';
export {
  connectTransactionStream,
  ensureTransactionConsumer,
  TRANSACTION_SUBJECT,
  TRANSACTION_STREAM,
  TRANSACTION_CONSUMER,
  NATS_URL_ENV,
} from './online-store/stream';
export type { TransactionStream } from './online-store/stream';
export { startRedisServer, startNatsServer, freePort } from './online-store/local-services';
export type { LocalService } from './online-store/local-services';

/** The synthetic generator: MiBolsillo-shaped CSV for tests, benchmarks and the demo. */
export {
  generate,
  generateChunks,
  formatBrazilianAmount,
  MIBOLSILLO_HEADER,
  MIBOLSILLO_ESSENTIAL_GROUPS,
} from './generator/generate';
export type { GenerateOptions, GeneratorShift } from './generator/generate';
