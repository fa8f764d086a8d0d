import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { tableToCompatibleParquet } from '@bolsillo/core';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { isAlive, startIngestWorkers } from './ingest-workers';

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
    if (!w) return;
    w.off('message', this.onMessage);
    w.off('error', this.onError);
    w.off('exit', this.onExit);
    if (this.owned) await w.terminate();
  }
}

/** What the worker does with one job (exported for the worker entry). */
export function encodeIpc(ipc: Uint8Array): Uint8Array {
  return tableToCompatibleParquet(tableFromIPC(ipc));
}
