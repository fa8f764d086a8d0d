/**
 * @packageDocumentation
 * The ingest stage: MiBolsillo CSV drops → validated, pseudonymised, Hive-partitioned Parquet
 * (`lake/transactions/date=YYYY-MM-DD/part-0.parquet`), quarantine with reasons, and a manifest for
 * incremental, crash-safe runs.
 */
export {
  decodeBlock,
  checkHeader,
  parseLine,
  parseSourceDate,
  parseBrazilianAmount,
  maskRawLine,
  validateTransaction,
  IngestError,
  BRAZILIAN_STATES,
} from './dialect';
export type { SourceEncoding, ReasonCode, DomainRules, ParsedRow, Rejection } from './dialect';
export {
  parseFile,
  kAnonymity,
  kAnonymityReport,
  kAnonymityGroups,
  addKAnonymityGroups,
  kAnonymityFromGroups,
  QUASI_IDENTIFIERS,
} from './parse-file';
export type { KAnonymityReport, KAnonymitySet, QuasiIdentifier } from './parse-file';
export { parseFileColumnar } from './parse-fast';
export type { ColumnarParsedFile, ColumnarBucket, ColumnarSpillSink, IdentityEntry, MerchantEntry } from './parse-fast';
export { parseRangeColumnar, finishParse, readChunks } from './parse-fast';
export type { RangeResult, RangeOptions } from './parse-fast';
export { parseFileParallel, splitRanges, mergeRanges, RangeMerger } from './parse-ranges';
export type { ByteRange, ParallelOptions } from './parse-ranges';
export { startIngestWorkers } from './ingest-workers';
export { FIELD_VALIDATORS, classifyBlock, decodeRange, parseIdentity, parseMerchant } from './dialect';
export type { RawIdentity } from './dialect';
export type { ParsedFile, ParseParams, QuarantineEntry, DateBucket, QuasiIdentifiers } from './parse-file';
export { planIngest, affectedDates, mergePartition, EMPTY_MANIFEST, LAKE_SCHEMA } from './lake';
export type { IngestManifest, ManifestFile, IngestPlan, PartitionRecord } from './lake';
export { runIngest } from './run';
export type { RunIngestOptions } from './run';
export { mergeIngest, shardLakeDir } from './ingest-shards';
export { ingestInParts } from './ingest-parts';
export type { MergeIngestOptions } from './ingest-shards';
export { ShardRowFilter } from './shard-rows';
export { IngestParamsSchema, DEFAULT_PARAMS_FILE, DEFAULT_K_ANONYMITY } from './params';
export type { IngestParams } from './params';
export { secretFingerprint } from './ingest-plan';
export type { IngestSummary } from './ingest-summary';
