import { Worker } from 'node:worker_threads';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';

/**
 * Codecs the feature store may be written with: only those parquetjs-lite (and DuckDB, parquet-wasm)
 * read. LZ4 and ZSTD are faster or smaller but parquetjs-lite cannot open them.
 */
export const PARQUET_COMPRESSIONS = ['snappy', 'uncompressed', 'gzip'] as const;
/** One of {@link PARQUET_COMPRESSIONS}. */
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

/**
 * Parquet decode/encode on worker threads, so that the main thread computes the features of one
 * partition while the next ones are decoded and the previous ones encoded and written (parquet-wasm
 * is about half of the stage's CPU). Arrow tables cross the thread boundary as IPC streams whose
 * buffers are transferred, not copied.
 *
 * The worker is plain JavaScript evaluated from a string (no TypeScript loader needed in the
 * thread) and does what core's `readParquetFile` / `tableToCompatibleParquet` + `writeFileAtomic`
 * do: parquet-wasm with core's compatible writer properties (V1 pages, no dictionary: the only
 * layout parquetjs-lite opens) and the chosen codec, and an atomic write (temporary sibling named
 * like core's, fsync, rename).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const pw = require(workerData.parquetWasm);
const CODECS = { snappy: pw.Compression.SNAPPY, uncompressed: pw.Compression.UNCOMPRESSED, gzip: pw.Compression.GZIP };
const codec = CODECS[workerData.compression];
if (codec === undefined) throw new Error('unknown parquet compression ' + workerData.compression);
function writeAtomic(target, data) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), '.' + path.basename(target) + '.tmp-' + process.pid + '-' + crypto.randomBytes(4).toString('hex'));
  const fd = fs.openSync(tmp, 'w');
  try { fs.writeSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, target);
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'read') {
      // One record batch per row group (parquet-wasm's default is 1024 rows): apache-arrow's
      // tableFromIPC then costs ~0.4 ms per 28k-row partition instead of ~57 ms.
      const ipc = pw.readParquet(fs.readFileSync(m.file), { batchSize: 1 << 24 }).intoIPCStream();
      parentPort.postMessage({ id: m.id, ipc }, [ipc.buffer]);
    } else {
      const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V1).setDictionaryEnabled(false).setCompression(codec).build();
      writeAtomic(m.file, pw.writeParquet(pw.Table.fromIPCStream(m.ipc), props));
      parentPort.postMessage({ id: m.id });
    }
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String(error && error.stack || error) });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly ipc?: Uint8Array;
  readonly error?: string;
}

/** A Parquet I/O thread: `read` and `write` are queued and run in the order they are called. */
export class ParquetWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private next = 0;
  private failed: Error | null = null;

  constructor(compression: ParquetCompression = 'snappy') {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { parquetWasm: require.resolve('parquet-wasm'), compression } });
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

  /** Stop the thread (pending calls are rejected). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Several {@link ParquetWorker}s taking calls round-robin (reads and writes on separate counters so
 * both spread evenly). Every call returns its own promise, so callers that await in the order they
 * called get results in that order whatever thread finishes first; with two threads on two cores
 * the decode of partition k+1, the kernel on partition k and the encode of partition k−1 overlap.
 */
export class ParquetPool {
  private readonly workers: ParquetWorker[];
  private reads = 0;
  private writes = 0;

  constructor(size: number, compression: ParquetCompression = 'snappy') {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new ParquetWorker(compression));
  }

  /** Decode a Parquet file into an Arrow table on one of the threads. */
  read(file: string): Promise<Table> {
    return this.workers[this.reads++ % this.workers.length]!.read(file);
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
