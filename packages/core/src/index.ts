/**
 * @packageDocumentation
 * Shared helpers every stage may use: the data layout, atomic writes, Parquet I/O through
 * apache-arrow + parquet-wasm, params files, the stage command line, progress output, metrics
 * and pseudonymisation.
 */
export { dataLayout, dirsFromEnv } from './paths';
export type { DataLayout } from './paths';
export { writeFileAtomic, writeJsonAtomic, writeDirAtomic, readJson, cleanTemporaries, appendJsonl, readJsonl } from './atomic';
export {
  tableToParquet,
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
export { loadParams } from './params';
export { createProgress, formatCount } from './progress';
export type { Progress } from './progress';
export { runCli } from './cli';
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
