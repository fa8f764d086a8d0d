import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createProgress, partitionDir, readParquetFile, rowsFromTable, sha256, shardPartName } from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import type { Table } from 'apache-arrow';
import { buildTable } from './arrow-build';
import { columnarTable } from './columnar-table';
import { ConcurrentAtomicWriter } from './durable-write';
import { LAKE_SCHEMA, mergePartition } from './lake';
import { ParquetPool } from './parquet-pool';
import type { ColumnarParsedFile } from './parse-fast';
import type { SpillStore } from './spill-store';

/** A lake partition as the manifest records it. */
export interface PartitionEntry {
  readonly rows: number;
  readonly sha256: string;
}

/** What {@link writePartitions} needs. */
export interface WritePartitionsOptions {
  readonly lake: string;
  /**
   * Shard i writes `part-<i>.parquet` of each date and touches nothing else in the date folders (other
   * shards write theirs at the same time); the whole run (undefined) writes `part-0.parquet` and owns the folders.
   */
  readonly shard?: number;
  /** Rebuild: existing partition files are ignored (and replaced). */
  readonly backfill: boolean;
  /** Files whose rows leave the lake. */
  readonly drop: ReadonlySet<string>;
  readonly parsed: readonly ColumnarParsedFile[];
  readonly spills: SpillStore;
  readonly utf8Cache: Map<string, Uint8Array>;
  /** Worker threads encoding Parquet (0 or 1) and the ingest worker to share for it. */
  readonly parquetWorkers: number;
  readonly worker: Worker | undefined;
  readonly log: (message: string) => void;
}

/**
 * Rewrite the lake partitions of `dates`: each one's rows after the run (see {@link partitionTable}),
 * encoded as Parquet and written atomically and durably; a partition left empty is removed. Returns
 * `partitions` updated (the caller's copy of the manifest's), entries in `dates` order.
 */
export async function writePartitions(
  dates: readonly string[],
  partitions: Record<string, PartitionEntry>,
  options: WritePartitionsOptions,
): Promise<Record<string, PartitionEntry>> {
  const progress = createProgress('ingest write', { total: dates.length, unit: 'partitions', write: options.log });
  const writer = new ConcurrentAtomicWriter();
  const pool = new ParquetPool(options.parquetWorkers, options.worker);
  const jobs: Promise<void>[] = [];
  try {
    for (const date of dates) {
      const dir = partitionDir(options.lake, date);
      const file = path.join(dir, shardPartName(options.shard ?? 0));
      const table = partitionTable(date, file, options);
      // The date's typed columns are in the table now: release them, so the write phase frees the parse's
      // memory partition by partition instead of holding every row until the end.
      for (const p of options.parsed) p.buckets.delete(date);
      const rows = table.numRows;
      if (rows === 0) {
        fs.rmSync(options.shard === undefined ? dir : file, { recursive: true, force: true });
        delete partitions[date];
        progress.tick(1);
        continue;
      }
      // Encoding runs on the worker (small tables here when it is busy): while the worker encodes one
      // partition, this thread builds the next.
      const encoded = pool.encode(table);
      const job = encoded.bytes.then(async (bytes) => {
        partitions[date] = { rows, sha256: sha256(bytes) };
        await writer.write(file, bytes);
        progress.tick(1);
      });
      job.catch(() => undefined); // observed below, by Promise.all
      jobs.push(job);
      if (!encoded.offloaded) await job;
      else await encoded.accepted;
    }
    await Promise.all(jobs);
  } finally {
    await pool.close();
  }
  await writer.flush();
  progress.done();
  return partitions;
}

/**
 * The rows of one partition after the run: each parsed file's spilled and held rows (see
 * {@link SpillStore.partitionParts}). The common case (a backfill, or a new day's file) goes from typed
 * columns straight to Arrow: files are parsed in name order and rows appended in line order, so the parts
 * are already sorted. A partition that already exists is merged with its rows ({@link mergePartition}).
 */
function partitionTable(date: string, file: string, options: WritePartitionsOptions): Table {
  const parts = options.spills.partitionParts(date, options.parsed);
  if (options.backfill || !fs.existsSync(file)) return columnarTable(LAKE_SCHEMA, date, parts);
  const existing = rowsFromTable<Transaction>(readParquetFile(file));
  return buildTable(LAKE_SCHEMA, mergePartition(date, existing, options.drop, parts), options.utf8Cache);
}

/**
 * After a backfill: remove the partition folders of dates no longer in `partitions`; for shard i, only its
 * own part file of those dates (the merge removes folders left empty).
 */
export function removeStalePartitions(
  lake: string,
  partitions: Readonly<Record<string, PartitionEntry>>,
  shard?: number,
): void {
  if (!fs.existsSync(lake)) return;
  for (const entry of fs.readdirSync(lake)) {
    const m = /^date=(.+)$/.exec(entry);
    if (!m || m[1]! in partitions) continue;
    const target = path.join(lake, entry, ...(shard === undefined ? [] : [shardPartName(shard)]));
    fs.rmSync(target, { recursive: true, force: true });
  }
}
