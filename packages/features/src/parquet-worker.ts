import { Worker } from 'node:worker_threads';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';

/**
 * Parquet decode/encode on a second thread, so that the main thread computes the features of one
 * partition while the next is decoded and the previous is encoded and written (parquet-wasm is
 * about a third of the stage's CPU). Arrow tables cross the thread boundary as IPC streams whose
 * buffers are transferred, not copied.
 *
 * The worker is plain JavaScript evaluated from a string (no TypeScript loader needed in the
 * thread) and does exactly what core's `readParquetFile` / `writeParquetFile` do: parquet-wasm with
 * Snappy, and an atomic write (temporary sibling named like core's, fsync, rename).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const pw = require(workerData.parquetWasm);
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
      const ipc = pw.readParquet(fs.readFileSync(m.file)).intoIPCStream();
      parentPort.postMessage({ id: m.id, ipc }, [ipc.buffer]);
    } else {
      const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.SNAPPY).build();
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

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { parquetWasm: require.resolve('parquet-wasm') } });
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

  /** Encode a table as Parquet (Snappy) and write it atomically, on the worker thread. */
  write(file: string, table: Table): Promise<void> {
    const ipc = tableToIPC(table, 'stream');
    return this.call({ op: 'write', file, ipc }, [ipc.buffer as ArrayBuffer]).then(() => undefined);
  }

  /** Stop the thread (pending calls are rejected). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
