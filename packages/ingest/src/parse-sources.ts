import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createProgress } from '@bolsillo/core';
import { tableToIPC } from 'apache-arrow';
import { buildTable } from './arrow-build';
import { IngestError } from './dialect';
import type { RejectedFile } from './ingest-plan';
import { LAKE_SCHEMA, bucketColumns } from './lake';
import type { IngestParams } from './params';
import { parseFileColumnar, readChunks, type ColumnarParsedFile, type ColumnarSpillSink } from './parse-fast';
import { parseFileParallel } from './parse-ranges';
import type { ShardRowFilter } from './shard-rows';

// Target size of a byte range of a large file parsed on several threads.
const RANGE_BYTES = 32 << 20;

/** Where a parse spills rows beyond `spill_rows`: one {@link SpillStore}, or one per part (`ingest --parts N`). */
export interface SpillTarget {
  /** A sink for one file's parse: every spilled file is recorded in `written` ([date, file]) too. */
  sink(maxRows: number, written: [string, string][], shardRows?: ShardRowFilter): ColumnarSpillSink;
  withdraw(spills: readonly [string, string][]): void;
}

/**
 * Rows spilled to temporary Arrow IPC files while a large file is parsed (bounded memory), by date. The
 * folder is removed at the end of the run, or by `cleanTemporaries` after a crash (its name says so).
 */
export class SpillStore implements SpillTarget {
  private readonly byDate = new Map<string, string[]>();
  private seq = 0;

  /** `utf8Cache`: encoded strings shared with the run's other table builds. */
  constructor(
    readonly dir: string,
    private readonly utf8Cache: Map<string, Uint8Array>,
  ) {}

  /** A shard keeps only its customers' rows (`shardRows`) before they are spilled. */
  sink(maxRows: number, written: [string, string][], shardRows?: ShardRowFilter): ColumnarSpillSink {
    return {
      maxRows,
      write: (partial) => {
        shardRows?.restrict(partial);
        this.write(partial, written);
      },
    };
  }

  /** Spill the buckets of a parse's partial result, one file per date bucket, recorded in `written`. */
  write(partial: ColumnarParsedFile, written: [string, string][]): void {
    for (const [date, parts] of partial.buckets) {
      for (const b of parts) {
        const target = path.join(this.dir, `${date}-${this.seq++}.arrow`);
        fs.mkdirSync(this.dir, { recursive: true });
        fs.writeFileSync(
          target,
          tableToIPC(buildTable(LAKE_SCHEMA, bucketColumns(b, partial, date), this.utf8Cache), 'file'),
        );
        this.byDate.set(date, [...(this.files(date) ?? []), target]);
        written.push([date, target]);
      }
    }
  }

  /** The spill files of `date`, in the order written (undefined when none). */
  files(date: string): readonly string[] | undefined {
    return this.byDate.get(date);
  }

  withdraw(spills: readonly [string, string][]): void {
    for (const [date, target] of spills) {
      this.byDate.set(
        date,
        (this.byDate.get(date) ?? []).filter((s) => s !== target),
      );
      fs.rmSync(target, { force: true });
    }
  }

  /** Delete the spill folder. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One spill store per part, for one process writing every part (`ingest --parts N`): each spilled partial
 * result is split by customer, part i's rows into store i, as shard i's run would spill them.
 */
export class PartSpills implements SpillTarget {
  constructor(
    readonly stores: readonly SpillStore[],
    private readonly parts: readonly ShardRowFilter[],
  ) {}

  sink(maxRows: number, written: [string, string][]): ColumnarSpillSink {
    return {
      maxRows,
      write: (partial) => this.parts.forEach((part, i) => this.stores[i]!.write(part.restricted(partial), written)),
    };
  }

  withdraw(spills: readonly [string, string][]): void {
    for (const s of this.stores) s.withdraw(spills);
  }
}

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
    const fileSpills: [string, string][] = [];
    try {
      const p = await parseSource(f, fileSpills, options);
      options.shardRows?.finish(p);
      parsed.push(p);
    } catch (error) {
      if (!(error instanceof IngestError) || policy === 'fail') throw error;
      options.spills.withdraw(fileSpills);
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
 * Parse one file. Large files: byte ranges parsed on every core; anything the ranges cannot settle exactly
 * (an error, mixed encodings, rows beyond spill_rows) is left to the one-pass parse, which decides and
 * spills rows beyond `spill_rows`.
 */
async function parseSource(
  f: string,
  fileSpills: [string, string][],
  options: ParseSourcesOptions,
): Promise<ColumnarParsedFile> {
  const { params, workers, log } = options;
  const file = path.join(options.rawDir, f);
  const size = fs.statSync(file).size;
  const progress = createProgress(`ingest ${f}`, { total: size, unit: 'bytes', write: log });
  let last = 0;
  const parseParams = { secret: options.secret, minAge: params.min_age, maxAge: params.max_age };
  const onProgress = (bytes: number, rows: number) => {
    progress.tick(bytes - last, `${rows} rows`);
    last = bytes;
  };
  const threads = 1 + Math.min(options.parseWorkers, workers.length);
  const ranges = rangeCount(size, threads, params.chunk_bytes);
  const fast =
    threads > 1 && ranges >= 2
      ? await parseFileParallel(file, f, parseParams, {
          workers: workers.slice(0, threads - 1),
          ranges,
          chunkBytes: params.chunk_bytes,
          maxRows: params.spill_rows - 1,
          onProgress,
        })
      : null;
  if (fast) {
    progress.done(`${fast.rowsIn} rows (${ranges} ranges, ${threads} threads)`);
    return fast;
  }
  last = 0;
  const p = await parseFileColumnar(
    f,
    readChunks(file, params.chunk_bytes),
    parseParams,
    onProgress,
    options.spills.sink(params.spill_rows, fileSpills, options.shardRows),
  );
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
