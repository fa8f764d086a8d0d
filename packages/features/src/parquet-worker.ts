import path from 'node:path';
import {
  DEFAULT_PARQUET_COMPRESSION,
  WorkerChannel,
  startWorkerModule,
  type FeatureColumns,
  type FeatureColumnsArrays,
  type ParquetCompression,
} from '@bolsillo/core';
import { featureKeys } from './feature-table';
import {
  PARQUET_THREAD_CHANNELS,
  type ParquetThreadData,
  type ReadColumnsReply,
  type ReadColumnsRequest,
  type WriteFeaturesReply,
  type WriteFeaturesRequest,
} from './parquet-thread-protocol';
import type { ColumnarFeatureBatch } from './pipeline';
import type { RawUtf8Column, TxnColumns } from './txn-columns';

const INTERNED_COLUMNS = [
  'customer_key',
  'date',
  'account_cohort',
  'city',
  'state',
  'sex',
  'merchant_group',
  'merchant_city',
  'merchant_country',
  'source_file',
] as const;
const NUMBER_COLUMNS = ['age', 'credit_limit', 'available_limit', 'source_line', 'amount', 'amount_valid'] as const;

function utf8Buffers(u: RawUtf8Column): ArrayBuffer[] {
  return [u.offsets.buffer as ArrayBuffer, u.bytes.buffer as ArrayBuffer];
}

/** The thread module beside this one (TypeScript from sources, JavaScript from the built package). */
const THREAD_MODULE = path.join(__dirname, `parquet-thread${path.extname(__filename)}`);

/**
 * A Parquet thread (`parquet-thread.ts`): decodes lake partitions into the kernel's columns and turns
 * computed batches into written feature partitions, so that the main thread only runs the kernel. Calls
 * run in the order they are made; typed arrays cross the thread boundary by transfer, not by copy.
 */
export class ParquetWorker {
  private readonly reads: WorkerChannel<ReadColumnsRequest, ReadColumnsReply>;
  private readonly writes: WorkerChannel<WriteFeaturesRequest, WriteFeaturesReply>;
  private readonly cpu: WorkerChannel<null, number | null>;
  /** customer_key dictionary of the thread (its ids index this array; appended as the thread meets new customers). */
  private readonly customers: string[] = [];

  constructor(compression: ParquetCompression = DEFAULT_PARQUET_COMPRESSION) {
    const workerData: ParquetThreadData = { compression };
    const worker = startWorkerModule(THREAD_MODULE, { workerData });
    this.reads = new WorkerChannel(worker, PARQUET_THREAD_CHANNELS.readColumns);
    this.writes = new WorkerChannel(worker, PARQUET_THREAD_CHANNELS.writeFeatures);
    this.cpu = new WorkerChannel(worker, PARQUET_THREAD_CHANNELS.cpuSeconds);
  }

  /**
   * Decode the files of a lake partition into the kernel's columns on the thread (strings interned from
   * their UTF-8 bytes); the arrays are transferred back. With `hash`, also the sha256 (hex) of each file's
   * bytes, computed from the bytes read anyway (null without).
   */
  async readColumns(
    files: readonly string[],
    hash = false,
  ): Promise<{ cols: TxnColumns; fileSha256: string[] | null }> {
    const { cols, fileSha256 } = await this.reads.call({ files, hash });
    // The thread's customer ids are stable: its dictionary grows here, one array for the thread's life.
    for (const key of cols.customer_key.added) this.customers.push(key);
    return { cols: { ...cols, customer_key: { ids: cols.customer_key.ids, dict: this.customers } }, fileSha256 };
  }

  /**
   * Build the feature-row table of a computed batch, encode it and write it atomically, all on the
   * thread. The batch's sink must be in codes mode. The sink's arrays, the order and every array of
   * `cols` are transferred (`cols` is unusable here afterwards); the sink's arrays come back once
   * written (to be passed as `recycled` to a later sink).
   */
  async writeFeatures(file: string, cols: TxnColumns, batch: ColumnarFeatureBatch): Promise<FeatureColumnsArrays> {
    const f: FeatureColumns = batch.features;
    if (!f.categoryCodes) throw new Error('writeFeatures: the feature sink must store category codes');
    // The rest of the partition's columns go along too: memory that leaves this thread no longer
    // counts towards its garbage collections (whose marking walks every customer history), and
    // the thread reuses their buffers for the partitions it decodes next.
    const spent = [...INTERNED_COLUMNS.map((k) => cols[k].ids), ...NUMBER_COLUMNS.map((k) => cols[k])];
    const transfer = [
      batch.order.buffer as ArrayBuffer,
      ...utf8Buffers(cols.txn_id),
      ...utf8Buffers(cols.customer_key_bytes),
      ...utf8Buffers(cols.date_bytes),
      ...[...f.values, ...f.valid, ...f.codes, ...spent].map((a) => a.buffer as ArrayBuffer),
    ];
    const request: WriteFeaturesRequest = {
      file,
      order: batch.order,
      keys: featureKeys(cols),
      values: f.values,
      valid: f.valid,
      codes: f.codes,
      dicts: f.dicts,
      spent,
    };
    return (await this.writes.call(request, transfer)).recycled;
  }

  /** CPU seconds the thread has used since it started (null where the OS does not tell: not Linux). */
  cpuSeconds(): Promise<number | null> {
    return this.cpu.call(null);
  }

  /** Stop the thread (pending calls are rejected). */
  async close(): Promise<void> {
    for (const c of [this.reads, this.writes, this.cpu]) c.detach();
    await this.reads.worker.terminate();
  }
}

/** Written sinks kept for reuse (about the number of writes in flight). */
const MAX_SPARES = 4;

/**
 * Several {@link ParquetWorker}s taking calls round-robin (reads and writes on separate counters so
 * both spread evenly). Every call returns its own promise, so callers that await in the order they
 * called get results in that order whatever thread finishes first; with two threads on two cores
 * the decode of partition k+1, the kernel on partition k and the encode of partition k−1 overlap.
 */
export class FeatureWriterPool {
  private readonly workers: ParquetWorker[];
  private reads = 0;
  private writes = 0;
  private readonly spares: FeatureColumnsArrays[] = [];

  constructor(size: number, compression: ParquetCompression = DEFAULT_PARQUET_COMPRESSION) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new ParquetWorker(compression));
  }

  /** Decode a lake partition into the kernel's columns on one of the threads ({@link ParquetWorker.readColumns}). */
  readColumns(files: readonly string[], hash: boolean): Promise<{ cols: TxnColumns; fileSha256: string[] | null }> {
    return this.workers[this.reads++ % this.workers.length]!.readColumns(files, hash);
  }

  /**
   * Build, encode and write a computed batch's feature table on one of the threads
   * ({@link ParquetWorker.writeFeatures}); the sink's arrays are kept for {@link FeatureWriterPool.spareSink}.
   */
  writeFeatures(file: string, cols: TxnColumns, batch: ColumnarFeatureBatch): Promise<void> {
    return this.workers[(this.writes++ + 1) % this.workers.length]!.writeFeatures(file, cols, batch).then((arrays) => {
      if (this.spares.length < MAX_SPARES) this.spares.push(arrays);
    });
  }

  /** Arrays of a written sink that hold at least `rows` rows (removed from the spares), or undefined. */
  spareSink(rows: number): FeatureColumnsArrays | undefined {
    const k = this.spares.findIndex((a) => a.valid[0]!.length >= rows);
    return k < 0 ? undefined : this.spares.splice(k, 1)[0];
  }

  /** CPU seconds of each thread ({@link ParquetWorker.cpuSeconds}). */
  cpuSeconds(): Promise<(number | null)[]> {
    return Promise.all(this.workers.map((w) => w.cpuSeconds()));
  }

  /** Stop every thread. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
