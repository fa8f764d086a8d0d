import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { tableToCompatibleParquet } from '@bolsillo/core';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';

/**
 * Parquet encoding on a second core. Encoding (parquet-wasm) is about half of the write phase; a worker
 * thread encodes one partition while the main thread builds the next table and encodes another, so both
 * cores work. The worker runs the very same core `tableToCompatibleParquet` on the same Arrow data, so the
 * bytes are identical to encoding in the main thread (tested). Results come back in submission order.
 */
export class ParquetPool {
  private worker: Worker | null = null;
  private busy: Promise<Uint8Array> | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  constructor(workers = Math.min(1, os.availableParallelism() - 1)) {
    if (workers < 1) return;
    const entry = path.join(__dirname, `parquet-worker${path.extname(__filename)}`);
    // Under tsx or jest the worker loads TypeScript through tsx's CommonJS hook; compiled, plain require.
    const code = entry.endsWith('.ts') ? `require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});` : `require(${JSON.stringify(entry)});`;
    this.worker = new Worker(code, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.bytes) p.resolve(m.bytes);
      else p.reject(new Error(`parquet worker: ${m.error}`));
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    });
  }

  /** Encode `table`: on the worker when it is free (`offloaded`), else right here (the caller's core). */
  encode(table: Table): { bytes: Promise<Uint8Array>; offloaded: boolean } {
    if (this.worker && this.busy === null) {
      const id = this.seq++;
      const ipc = tableToIPC(table, 'stream');
      const job = new Promise<Uint8Array>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      this.worker.postMessage({ id, ipc }, [ipc.buffer as ArrayBuffer]);
      this.busy = job.finally(() => {
        this.busy = null;
      });
      return { bytes: this.busy, offloaded: true };
    }
    try {
      return { bytes: Promise.resolve(tableToCompatibleParquet(table)), offloaded: false };
    } catch (error) {
      return { bytes: Promise.reject(error as Error), offloaded: false };
    }
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/** What the worker does with one job (exported for the worker entry). */
export function encodeIpc(ipc: Uint8Array): Uint8Array {
  return tableToCompatibleParquet(tableFromIPC(ipc));
}
