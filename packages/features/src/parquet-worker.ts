import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Bool, Float64, Int32, Utf8, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { FEATURE_INDEX, type FeatureColumns, type FeatureColumnsArrays } from '@bolsillo/core';
import type { FeatureName } from '@bolsillo/schema';
import { featureTable } from './feature-table';
import { PARQUET_WORKER_SOURCE } from './parquet-worker-source';
import type { ColumnarFeatureBatch } from './pipeline';
import type { TxnColumns, RawUtf8Column } from './txn-columns';

/**
 * Codecs the feature store may be written with: only those parquetjs-lite (and DuckDB, parquet-wasm)
 * read. LZ4 and ZSTD are faster or smaller but parquetjs-lite cannot open them.
 */
export const PARQUET_COMPRESSIONS = ['snappy', 'uncompressed', 'gzip'] as const;
/** One of {@link PARQUET_COMPRESSIONS}. */
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

interface Reply {
  readonly id: number;
  readonly ipc?: Uint8Array;
  readonly cols?: TxnColumns;
  readonly fileSha256?: string[] | null;
  readonly recycled?: FeatureColumnsArrays;
  readonly cpuSeconds?: number | null;
  readonly error?: string;
}

/**
 * CPU seconds used so far by the calling thread (Linux: `/proc/thread-self/stat`, utime + stime in
 * clock ticks of 1/100 s); null where that file does not exist. Node 20 has no per-thread CPU clock.
 */
export function threadCpuSeconds(): number | null {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Key columns of a feature row → the input column holding their UTF-8. */
const KEY_SOURCES: Readonly<Record<string, 'txn_id' | 'customer_key_bytes' | 'date_bytes'>> = {
  txn_id: 'txn_id',
  customer_key: 'customer_key_bytes',
  date: 'date_bytes',
};

/** How the thread builds each column of the feature-row schema (in schema order) from a kernel batch. */
type ColumnStep = { readonly key: string } | { readonly f: number; readonly kind: 'float' | 'int' | 'bool' | 'utf8' };

let featureSchema: { ipc: Uint8Array; plan: ColumnStep[] } | undefined;
/** The feature-row schema as an IPC stream (the thread rebuilds it) and the build plan of its columns. */
function featureSchemaForThread(): { ipc: Uint8Array; plan: ColumnStep[] } {
  if (featureSchema) return featureSchema;
  const empty = featureTable([]);
  const plan = empty.schema.fields.map((field): ColumnStep => {
    if (KEY_SOURCES[field.name]) return { key: field.name };
    const f = FEATURE_INDEX[field.name as FeatureName];
    if (f === undefined) throw new Error(`feature table: no feature named ${field.name}`);
    const t = field.type;
    const kind =
      t instanceof Float64
        ? 'float'
        : t instanceof Int32
          ? 'int'
          : t instanceof Bool
            ? 'bool'
            : t instanceof Utf8
              ? 'utf8'
              : null;
    if (kind === null) throw new Error(`feature table: unsupported column type ${String(t)} for ${field.name}`);
    return { f, kind };
  });
  return (featureSchema = { ipc: tableToIPC(empty, 'stream'), plan });
}

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

/**
 * A Parquet thread (its source: {@link PARQUET_WORKER_SOURCE}): decodes lake partitions into the
 * kernel's columns and turns computed batches into written feature partitions, so that the main
 * thread only runs the kernel. Calls are queued and run in the order they are made; typed arrays
 * cross the thread boundary by transfer, not by copy.
 */
export class ParquetWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private next = 0;
  /** customer_key dictionary of the thread (its ids index this array; appended as the thread meets new customers). */
  private readonly customers: string[] = [];
  private failed: Error | null = null;

  constructor(compression: ParquetCompression = 'snappy') {
    const schema = featureSchemaForThread();
    this.worker = new Worker(PARQUET_WORKER_SOURCE, {
      eval: true,
      workerData: {
        parquetWasm: require.resolve('parquet-wasm'),
        apacheArrow: require.resolve('apache-arrow'),
        compression,
        schemaIpc: schema.ipc,
        plan: schema.plan,
      },
    });
    this.worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.error) p.reject(new Error(r.error));
      else p.resolve(r);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`parquet worker exited with code ${code}`)));
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Decode a Parquet file into an Arrow table (decoded on the worker thread). */
  async read(file: string): Promise<Table> {
    const r = await this.call({ op: 'read', file });
    return tableFromIPC(r.ipc!);
  }

  /** Encode a table as Parquet and write it atomically, on the worker thread. */
  write(file: string, table: Table): Promise<void> {
    // The feature table is one record batch built from typed arrays, so this is one copy of its
    // buffers into the stream (~0.6 µs/row); the stream's buffer is then moved, not cloned.
    const ipc = tableToIPC(table, 'stream');
    return this.call({ op: 'write', file, ipc }, [ipc.buffer as ArrayBuffer]).then(() => undefined);
  }

  /**
   * Decode the files of a lake partition and turn them into the kernel's columns on the thread
   * (strings interned per partition from their UTF-8 bytes); the arrays are transferred back.
   */
  async readColumns(files: readonly string[]): Promise<TxnColumns> {
    return (await this.readColumnsHashed(files, false)).cols;
  }

  /**
   * {@link readColumns}, and with `hash` the sha256 (hex) of each file's bytes, computed on the thread
   * from the bytes it read anyway (null without `hash`).
   */
  async readColumnsHashed(
    files: readonly string[],
    hash: boolean,
  ): Promise<{ cols: TxnColumns; fileSha256: string[] | null }> {
    const r = await this.call({ op: 'readColumns', files, hash });
    const cols = r.cols as unknown as TxnColumns & { customer_key: { ids: Int32Array; added?: string[] } };
    // The thread's customer ids are stable: its dictionary grows here, one array for the thread's life.
    for (const key of cols.customer_key.added!) this.customers.push(key);
    return {
      cols: { ...cols, customer_key: { ids: cols.customer_key.ids, dict: this.customers } },
      fileSha256: r.fileSha256 ?? null,
    };
  }

  /**
   * Build the feature-row table of a computed batch, encode it and write it atomically, all on the
   * thread. The batch's sink must be in codes mode; the sink's arrays, the order and the key
   * columns of `cols` are transferred (as are its other arrays: `cols` is unusable here afterwards); the sink's arrays come back once
   * written (to be passed as `recycled` to a later sink).
   */
  writeFeatures(file: string, cols: TxnColumns, batch: ColumnarFeatureBatch): Promise<FeatureColumnsArrays> {
    const f: FeatureColumns = batch.features;
    if (!f.categoryCodes) throw new Error('writeFeatures: the feature sink must store category codes');
    const keys = { txn_id: cols.txn_id, customer_key: cols.customer_key_bytes, date: cols.date_bytes };
    const transfer = [
      batch.order.buffer as ArrayBuffer,
      ...utf8Buffers(cols.txn_id),
      ...utf8Buffers(cols.customer_key_bytes),
      ...utf8Buffers(cols.date_bytes),
      ...[...f.values, ...f.valid, ...f.codes].map((a) => a.buffer as ArrayBuffer),
    ];
    // The rest of the partition's columns go along too: memory that leaves this thread no longer
    // counts towards its garbage collections (whose marking walks every customer history), and
    // the thread reuses their buffers for the partitions it decodes next.
    const spent = [...INTERNED_COLUMNS.map((k) => cols[k].ids), ...NUMBER_COLUMNS.map((k) => cols[k])];
    transfer.push(...spent.map((a) => a.buffer as ArrayBuffer));
    return this.call(
      {
        op: 'writeFeatures',
        file,
        order: batch.order,
        keys,
        values: f.values,
        valid: f.valid,
        codes: f.codes,
        dicts: f.dicts,
        spent,
      },
      transfer,
    ).then((r) => r.recycled!);
  }

  /** CPU seconds the thread has used since it started (null where the OS does not tell: not Linux). */
  async cpuSeconds(): Promise<number | null> {
    return (await this.call({ op: 'stats' })).cpuSeconds ?? null;
  }

  /** Stop the thread (pending calls are rejected). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
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

  constructor(size: number, compression: ParquetCompression = 'snappy') {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new ParquetWorker(compression));
  }

  /** Decode a Parquet file into an Arrow table on one of the threads. */
  read(file: string): Promise<Table> {
    return this.workers[this.reads++ % this.workers.length]!.read(file);
  }

  /** Decode a lake partition into the kernel's columns on one of the threads. */
  readColumns(files: readonly string[]): Promise<TxnColumns> {
    return this.workers[this.reads++ % this.workers.length]!.readColumns(files);
  }

  /** {@link readColumns} plus, with `hash`, each file's sha256 ({@link ParquetWorker.readColumnsHashed}). */
  readColumnsHashed(
    files: readonly string[],
    hash: boolean,
  ): Promise<{ cols: TxnColumns; fileSha256: string[] | null }> {
    return this.workers[this.reads++ % this.workers.length]!.readColumnsHashed(files, hash);
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

  /** Encode and write a table atomically on one of the threads (writes alternate with a different phase than reads). */
  write(file: string, table: Table): Promise<void> {
    return this.workers[(this.writes++ + 1) % this.workers.length]!.write(file, table);
  }

  /** Stop every thread. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
