import fs from 'node:fs';
import path from 'node:path';
import {
  CustomerHistory,
  FeatureColumns,
  createProgress,
  partitionDir,
  shardPartName,
  type DatePartition,
  type FeatureParams,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { partitionHash } from './features-plan';
import type { FeatureWriterPool } from './parquet-worker';
import { computeColumnarBatch, foldColumnarStates, type CustomerStates, type ShardOfBatch } from './pipeline';
import { txnColumnsFromRows, type TxnColumns } from './txn-columns';

/** Partitions decoded ahead of the one being computed, and encoded partitions allowed in flight. */
const READ_AHEAD = 3;
const WRITE_BEHIND = 3;

/**
 * Lake partitions decoded on the Parquet threads, a few ahead of the one the main thread computes
 * (bounded, so memory stays flat), handed out in order. A partition with several files is one batch
 * (history order is sorted across its files): one thread decodes them all and interns their strings.
 */
export class PartitionReader {
  private readonly prefetched: Promise<TxnColumns>[] = [];
  private next = 0;

  /** With `hashes`, each partition's input hash is put there as its files are read ({@link partitionHash}). */
  constructor(
    private readonly io: FeatureWriterPool,
    private readonly partitions: readonly DatePartition[],
    private readonly hashes: Record<string, string> | null,
  ) {}

  /** The next partition's columns. */
  read(): Promise<TxnColumns> {
    while (this.prefetched.length < READ_AHEAD && this.next < this.partitions.length) {
      const p = this.partitions[this.next++]!;
      const hashes = this.hashes;
      if (p.files.length === 0) {
        // A shard's date without any of its parts: no rows.
        if (hashes) hashes[p.date] = partitionHash(p, []);
        this.prefetched.push(Promise.resolve(txnColumnsFromRows([])));
        continue;
      }
      const pending = this.io.readColumns(p.files, hashes !== null).then(({ cols, fileSha256 }) => {
        if (hashes && fileSha256 !== null) hashes[p.date] = partitionHash(p, fileSha256);
        return cols;
      });
      pending.catch(() => undefined); // surfaced when awaited
      this.prefetched.push(pending);
    }
    const next = this.prefetched.shift();
    if (!next) throw new Error('PartitionReader: every partition has been read');
    return next;
  }
}

/** Customer states as of the online store (a pure append resumes from them). */
export function resumeStates(online: OnlineStoreSnapshot, states: CustomerStates): void {
  for (const [key, s] of Object.entries(online.customers)) states.set(key, CustomerHistory.fromState(s));
}

/** Fold the next `count` partitions of `reader` into the customer states (a shard's customers only); returns the rows read. */
export async function replayHistory(
  reader: PartitionReader,
  count: number,
  states: CustomerStates,
  params: FeatureParams,
  shard?: ShardOfBatch,
): Promise<number> {
  let rows = 0;
  for (let k = 0; k < count; k++) {
    const cols = await reader.read();
    rows += cols.length;
    foldColumnarStates(cols, states, params, shard);
  }
  return rows;
}

/** What {@link writeFeaturePartitions} needs besides the partitions. */
export interface WriteFeaturesOptions {
  readonly io: FeatureWriterPool;
  readonly states: CustomerStates;
  readonly params: FeatureParams;
  readonly featureStore: string;
  /**
   * Shard i computes its customers' rows into `part-<i>.parquet` of each date and removes its part of a
   * date where it has none (listed in `emptyDates`); the whole run writes `part-0.parquet`.
   */
  readonly shard?: ShardOfBatch;
  readonly emptyDates?: Set<string>;
  readonly log: (message: string) => void;
  /**
   * Called once the last batch is computed, while the threads still encode and write the last partitions
   * (the customer histories are final then).
   */
  readonly afterCompute?: () => void;
}

/**
 * Compute the features of `todo` (the next partitions of `reader`) on the main thread, advancing the
 * customer states; encoding and writing run behind on the Parquet threads. Returns the rows written.
 */
export async function writeFeaturePartitions(
  reader: PartitionReader,
  todo: readonly DatePartition[],
  options: WriteFeaturesOptions,
): Promise<number> {
  const { io, states, params } = options;
  const progress = createProgress('write', { total: todo.length, unit: 'partitions', write: options.log });
  const writes: Promise<void>[] = [];
  let rows = 0;
  for (const p of todo) {
    const cols = await reader.read();
    // The sink's arrays come back from the thread that wrote an earlier partition; new ones get
    // some slack so that later, slightly larger partitions fit too.
    const recycled =
      io.spareSink(cols.length) ?? new FeatureColumns(Math.ceil(cols.length * 1.25), { categoryCodes: true });
    const batch = computeColumnarBatch(cols, states, params, { categoryCodes: true, recycled }, options.shard);
    const file = path.join(partitionDir(options.featureStore, p.date), shardPartName(options.shard?.index ?? 0));
    options.emptyDates?.delete(p.date);
    if (options.shard && batch.order.length === 0) {
      fs.rmSync(file, { force: true });
      options.emptyDates?.add(p.date);
      progress.tick(1, `${rows} rows`);
      continue;
    }
    const computed = batch.order.length; // the order's buffer is transferred to the writing thread
    const written = io.writeFeatures(file, cols, batch);
    written.catch(() => undefined); // surfaced when awaited below
    writes.push(written);
    if (writes.length >= WRITE_BEHIND) await writes.shift();
    rows += computed;
    progress.tick(1, `${rows} rows`);
  }
  options.afterCompute?.();
  await Promise.all(writes);
  if (todo.length > 0) progress.done(`${rows} rows`);
  return rows;
}
