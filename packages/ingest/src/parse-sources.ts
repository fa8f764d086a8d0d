import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createProgress } from '@bolsillo/core';
import { IngestError } from './dialect';
import type { RejectedFile } from './ingest-plan';
import type { IngestParams } from './params';
import { parseFileColumnar, readChunks, type ColumnarParsedFile } from './parse-fast';
import { parseFileParallel } from './parse-ranges';
import type { ShardRowFilter } from './shard-rows';
import type { SpillTarget } from './spill-store';

// Target size of a byte range of a large file parsed on several threads.
const RANGE_BYTES = 32 << 20;

/** What {@link parseSources} needs besides the file names. */
export interface ParseSourcesOptions {
  readonly rawDir: string;
  readonly params: IngestParams;
  readonly secret: string;
  /** Started ingest workers; at most `parseWorkers` of them parse byte ranges beside the main thread. */
  readonly workers: readonly Worker[];
  readonly parseWorkers: number;
  readonly spills: SpillTarget;
  /** A shard's run: only its customers' rows are kept (see {@link ShardRowFilter}). */
  readonly shardRows?: ShardRowFilter;
  readonly log: (message: string) => void;
}

/** The files parsed and those rejected whole (their hash and reason). */
export interface ParsedSources {
  readonly parsed: ColumnarParsedFile[];
  readonly rejected: Record<string, RejectedFile>;
}

/**
 * Parse `files` of the raw folder, in order. A file that cannot be ingested at all (an {@link IngestError})
 * is rejected with its reason under the `warn` policy (its spilled rows withdrawn) and stops the run under
 * `fail`; when no file could be ingested and the lake is empty, the run fails.
 */
export async function parseSources(
  files: readonly string[],
  hashes: Readonly<Record<string, string>>,
  lakeIsEmpty: boolean,
  options: ParseSourcesOptions,
): Promise<ParsedSources> {
  const policy = options.params.bad_file_policy ?? 'warn';
  const parsed: ColumnarParsedFile[] = [];
  const rejected: Record<string, RejectedFile> = {};
  for (const f of files) {
    try {
      const p = await parseSource(f, options);
      options.shardRows?.finish(p);
      parsed.push(p);
    } catch (error) {
      if (!(error instanceof IngestError) || policy === 'fail') throw error;
      options.spills.withdraw(f);
      rejected[f] = { sha256: hashes[f]!, reason: error.message };
      options.log(`WARNING: ${f} quarantined, not ingested: ${error.message}`);
    }
  }
  if (parsed.length === 0 && lakeIsEmpty && Object.keys(rejected).length > 0) {
    throw new IngestError(
      `no file could be ingested: ${Object.entries(rejected)
        .map(([f, r]) => `${f}: ${r.reason}`)
        .join('; ')}`,
    );
  }
  return { parsed, rejected };
}

/**
 * Parse one file. Large files: byte ranges parsed on every core, merged in order and spilled beyond
 * `spill_rows`; anything the ranges cannot settle exactly (an error, mixed encodings) is left to the
 * one-pass parse, which decides (and spills likewise), after the ranges' spilled rows are withdrawn.
 */
async function parseSource(f: string, options: ParseSourcesOptions): Promise<ColumnarParsedFile> {
  const { params, workers, log } = options;
  const file = path.join(options.rawDir, f);
  const size = fs.statSync(file).size;
  let progress = createProgress(`ingest ${f}`, { total: size, unit: 'bytes', write: log });
  let last = 0;
  const parseParams = { secret: options.secret, minAge: params.min_age, maxAge: params.max_age };
  const onProgress = (bytes: number, rows: number) => {
    progress.tick(bytes - last, `${rows} rows`);
    last = bytes;
  };
  const spill = () => options.spills.sink(params.spill_rows, options.shardRows);
  const threads = 1 + Math.min(options.parseWorkers, workers.length);
  const ranges = rangeCount(size, threads, params.chunk_bytes);
  if (threads > 1 && ranges >= 2) {
    const fast = await parseFileParallel(file, f, parseParams, {
      workers: workers.slice(0, threads - 1),
      ranges,
      chunkBytes: params.chunk_bytes,
      maxRows: params.spill_rows - 1,
      spill: spill(),
      onProgress,
    });
    if (fast) {
      progress.done(`${fast.rowsIn} rows (${ranges} ranges, ${threads} threads)`);
      return fast;
    }
    options.spills.withdraw(f);
    log(`ingest ${f}: the byte ranges cannot settle this file; parsing it again in one pass`);
    progress = createProgress(`ingest ${f} (one pass)`, { total: size, unit: 'bytes', write: log });
    last = 0;
  }
  const p = await parseFileColumnar(f, readChunks(file, params.chunk_bytes), parseParams, onProgress, spill());
  progress.done(`${p.rowsIn} rows`);
  return p;
}

/**
 * Byte ranges to split a file of `size` bytes into: about {@link RANGE_BYTES} each, at least four per
 * thread (for balance), none smaller than four read chunks. A range's rows wait with their growth slack
 * until it is parsed and merged, so smaller ranges bound the parse's transient memory.
 */
function rangeCount(size: number, threads: number, chunkBytes: number): number {
  return Math.min(Math.max(4 * threads, Math.ceil(size / RANGE_BYTES)), Math.floor(size / (4 * chunkBytes)));
}
