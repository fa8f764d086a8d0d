import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { ipcToCompatibleParquet, tableToCompatibleParquet } from '@bolsillo/core';
import { tableToIPC, type Table } from 'apache-arrow';
import { isAlive, startIngestWorkers } from './ingest-workers';

/**
 * Parquet encoding on a second core. Encoding (parquet-wasm) costs more than building the partition's
 * table; a worker thread encodes one partition while the main thread builds the next one (and encodes
 * small ones itself when the worker is busy), so both cores work. The worker encodes the very Arrow IPC
 * stream core `tableToCompatibleParquet` makes of the table, so the bytes are identical to encoding in the
 * main thread (tested). Results come back in submission order.
 */
export class ParquetPool {
  private worker: Worker | null = null;
  private busy: Promise<Uint8Array> | null = null;
  private seq = 0;
  private owned = false;
  private onMessage: (m: { kind?: string; id: number; bytes?: Uint8Array; error?: string }) => void = () => undefined;
  private onError: (e: Error) => void = () => undefined;
  private onExit: () => void = () => undefined;
  private readonly pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  /** `worker`: an ingest worker to share (see startIngestWorkers; the caller stops it), else one of its own. */
  constructor(workers = Math.min(1, os.availableParallelism() - 1), worker?: Worker) {
    if (workers < 1 || (worker && !isAlive(worker))) return;
    this.owned = worker === undefined;
    const w = worker ?? startIngestWorkers(1)[0]!;
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    };
    this.onMessage = (m: { kind?: string; id: number; bytes?: Uint8Array; error?: string }) => {
      if (m.kind !== undefined) return; // another job kind on a shared worker
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.bytes) p.resolve(m.bytes);
      else p.reject(new Error(`parquet worker: ${m.error}`));
    };
    this.onError = fail;
    this.onExit = () => fail(new Error('parquet worker exited'));
    w.on('message', this.onMessage);
    w.on('error', this.onError);
    w.on('exit', this.onExit);
    this.worker = w;
  }

  /**
   * Encode `table`. On the worker when it is free (`offloaded`); when it is busy, a small table is encoded
   * right here (the caller's core), a large one waits for the worker. `accepted` resolves once the table
   * is handed over (or encoded here): the caller builds the next table meanwhile, then waits for it, so at
   * most one table waits beside the one being encoded.
   *
   * Why large tables never encode here: parquet-wasm's memory grows to the largest table an instance has
   * encoded and never shrinks (about 100 MB for a 25,000-row partition), so encoding them on one thread
   * instead of two keeps one such instance, not two. Small tables (a 1M-row file's partitions) add little
   * to it, and encoding them here keeps both cores busy.
   */
  encode(table: Table): { bytes: Promise<Uint8Array>; offloaded: boolean; accepted: Promise<void> } {
    if (this.worker && (this.busy === null || table.numRows > LOCAL_MAX_ROWS)) {
      const handOver = this.busy === null ? Promise.resolve() : this.busy.then(noop, noop);
      let post: () => void = noop;
      const accepted = handOver.then(() => post());
      const bytes = new Promise<Uint8Array>((resolve, reject) => {
        post = () => {
          const w = this.worker;
          if (!w) {
            // The worker failed while this table waited: encode it here.
            try {
              resolve(tableToCompatibleParquet(table));
            } catch (error) {
              reject(error as Error);
            }
            return;
          }
          const id = this.seq++;
          const ipc = tableToIPC(table, 'stream');
          this.pending.set(id, { resolve, reject });
          w.postMessage({ id, ipc }, [ipc.buffer as ArrayBuffer]);
        };
      });
      const busy = bytes.finally(() => {
        if (this.busy === busy) this.busy = null;
      });
      busy.catch(noop); // observed by the caller through `bytes`
      this.busy = busy;
      return { bytes, offloaded: true, accepted };
    }
    try {
      return { bytes: Promise.resolve(tableToCompatibleParquet(table)), offloaded: false, accepted: Promise.resolve() };
    } catch (error) {
      return { bytes: Promise.reject(error as Error), offloaded: false, accepted: Promise.resolve() };
    }
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    w.off('message', this.onMessage);
    w.off('error', this.onError);
    w.off('exit', this.onExit);
    if (this.owned) await w.terminate();
  }
}

// Largest table (rows) this thread encodes itself while the worker is busy; see ParquetPool.encode.
const LOCAL_MAX_ROWS = 8192;
const noop = () => undefined;

/**
 * What the worker does with one job (exported for the worker entry): the stream straight into the encoder
 * (the very stream `tableToCompatibleParquet` would make of the table, so the same bytes).
 */
export function encodeIpc(ipc: Uint8Array): Uint8Array {
  return ipcToCompatibleParquet(ipc);
}
