/**
 * A Parquet thread of the features run (started by {@link ParquetWorker}): it keeps the per-row string
 * and Arrow work off the main thread, which only runs the kernel.
 *
 * - lake read: decode a lake partition's files and build the kernel's columns
 *   ({@link txnColumnsFromTable}: strings interned from their UTF-8, one JS string per distinct value);
 *   everything is moved to the main thread, not copied. customer_key ids are this thread's for its
 *   whole life: only customers new to the thread travel.
 * - feature write: the kernel's typed feature columns and the key columns → the feature-row table
 *   ({@link featureTableFromArrays}) → Parquet with core's compatible writer properties and the chosen
 *   codec → atomic write; the sink's arrays go back for the next partition.
 * - thread cpu: the thread's own CPU time, for the run's log.
 *
 * Arrays that come back from the main thread (a partition's input columns) are kept in a pool and reused
 * for the partitions read next: no fresh zeroed buffers per partition, and less external memory (which
 * counts towards this thread's full garbage collections).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import {
  ipcToCompatibleParquet,
  parquetToTable,
  serveChannel,
  threadCpuSeconds,
  writeFileAtomic,
} from '@bolsillo/core';
import { tableToIPC, type Table } from 'apache-arrow';
import { featureTableFromArrays } from './feature-table';
import {
  PARQUET_THREAD_CHANNELS,
  type ParquetThreadData,
  type ReadColumnsReply,
  type ReadColumnsRequest,
  type WriteFeaturesReply,
  type WriteFeaturesRequest,
} from './parquet-thread-protocol';
import { Utf8Interner, txnColumnsFromTable, type ArraySource, type RawUtf8Column } from './txn-columns';

type TypedArray = Int32Array | Float64Array | Uint8Array;

/** Reusable array buffers, best fit first, bounded in total. */
class BufferPool implements ArraySource {
  private readonly spare: ArrayBuffer[] = [];

  constructor(private readonly maxBytes: number) {}

  int32(length: number): Int32Array {
    return new Int32Array(this.take(length * 4), 0, length);
  }
  uint8(length: number): Uint8Array {
    return new Uint8Array(this.take(length), 0, length);
  }
  float64(length: number): Float64Array {
    return new Float64Array(this.take(length * 8), 0, length);
  }

  /** Keep the buffers of `arrays` for reuse (those not detached, as long as the pool has room). */
  giveBack(arrays: readonly TypedArray[]): void {
    let held = this.spare.reduce((t, b) => t + b.byteLength, 0);
    for (const a of arrays) {
      const b = a.buffer as ArrayBuffer;
      if (b.byteLength === 0 || held + b.byteLength > this.maxBytes || this.spare.includes(b)) continue;
      this.spare.push(b);
      held += b.byteLength;
    }
  }

  private take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let k = 0; k < this.spare.length; k++) {
      const b = this.spare[k]!;
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.spare[best]!.byteLength)) best = k;
    }
    // New buffers get some slack so that later, slightly larger partitions fit too.
    if (best < 0) return new ArrayBuffer(Math.ceil(bytes * 1.25) + 64);
    return this.spare.splice(best, 1)[0]!;
  }
}

/**
 * Reads whole files into one grow-only buffer (parquet-wasm copies its input into wasm memory anyway):
 * a fresh buffer per partition would add to the external memory that drives this thread's collections.
 */
class FileReader {
  private buffer = Buffer.alloc(0);

  read(file: string): Buffer {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(Math.max(size, this.buffer.length * 2));
      let at = 0;
      while (at < size) {
        const got = fs.readSync(fd, this.buffer, at, size - at, at);
        if (got === 0) throw new Error(`unexpected end of ${file}`);
        at += got;
      }
      return this.buffer.subarray(0, size);
    } finally {
      fs.closeSync(fd);
    }
  }
}

const { compression } = workerData as ParquetThreadData;
const arrays = new BufferPool(64 << 20);
const files = new FileReader();
/** customer_key interned for the thread's whole life: the main thread maps each customer to its history once. */
const customers = new Utf8Interner();

/**
 * Decode one lake file. With `hashes`, its sha256 is added there: a full recompute hashes the lake on the
 * bytes read anyway, instead of reading every file once more on the main thread first.
 */
function decode(file: string, hashes: string[] | null): Table {
  const bytes = files.read(file);
  if (hashes) hashes.push(crypto.createHash('sha256').update(bytes).digest('hex'));
  return parquetToTable(bytes);
}

function rawBuffers(u: RawUtf8Column): ArrayBuffer[] {
  return [u.offsets.buffer as ArrayBuffer, u.bytes.buffer as ArrayBuffer];
}

function readColumns(request: ReadColumnsRequest): { reply: ReadColumnsReply; transfer: ArrayBuffer[] } {
  const fileSha256 = request.hash ? [] : null;
  const tables = request.files.map((f) => decode(f, fileSha256));
  const table = tables.length === 1 ? tables[0]! : tables[0]!.concat(...tables.slice(1));
  const before = customers.dict.length;
  const { customer_key, ...rest } = txnColumnsFromTable(table, { arrays, customers });
  const cols = { ...rest, customer_key: { ids: customer_key.ids, added: customers.dict.slice(before) } };
  const typed: TypedArray[] = [
    customer_key.ids,
    ...[rest.date, rest.account_cohort, rest.city, rest.state, rest.sex].map((c) => c.ids),
    ...[rest.merchant_group, rest.merchant_city, rest.merchant_country, rest.source_file].map((c) => c.ids),
    ...[rest.age, rest.credit_limit, rest.available_limit, rest.source_line, rest.amount, rest.amount_valid],
  ];
  const transfer = [
    ...rawBuffers(rest.txn_id),
    ...rawBuffers(rest.customer_key_bytes),
    ...rawBuffers(rest.date_bytes),
    ...typed.map((a) => a.buffer as ArrayBuffer),
  ];
  return { reply: { cols, fileSha256 }, transfer };
}

function writeFeatures(m: WriteFeaturesRequest): { reply: WriteFeaturesReply; transfer: ArrayBuffer[] } {
  const table = featureTableFromArrays(m.keys, m.order, { ...m, categoryCodes: true });
  writeFileAtomic(m.file, ipcToCompatibleParquet(tableToIPC(table, 'stream'), { compression }));
  const { txn_id, customer_key, date } = m.keys;
  arrays.giveBack([...m.spent, m.order, ...[txn_id, customer_key, date].flatMap((u) => [u.offsets, u.bytes])]);
  const recycled = { values: m.values, valid: m.valid, codes: m.codes };
  return { reply: { recycled }, transfer: [...m.values, ...m.valid, ...m.codes].map((a) => a.buffer as ArrayBuffer) };
}

serveChannel(PARQUET_THREAD_CHANNELS.readColumns, readColumns);
serveChannel(PARQUET_THREAD_CHANNELS.writeFeatures, writeFeatures);
serveChannel(PARQUET_THREAD_CHANNELS.cpuSeconds, () => ({ reply: threadCpuSeconds() }));
