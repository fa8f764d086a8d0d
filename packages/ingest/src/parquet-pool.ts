import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { WorkerChannel, ipcToCompatibleParquet, isWorkerAlive, tableToCompatibleParquet } from '@bolsillo/core';
import { tableToIPC, type Table } from 'apache-arrow';
import { INGEST_CHANNELS, startIngestWorkers } from './ingest-workers';

/**
 * Parquet encoding on a second core. Encoding (parquet-wasm) costs more than building the partition's
 * table; a worker thread encodes one partition while the main thread builds the next one (and encodes
 * small ones itself when the worker is busy), so both cores work. The worker encodes the very Arrow IPC
 * stream core `tableToCompatibleParquet` makes of the table, so the bytes are identical to encoding in the
 * main thread (tested). Results come back in submission order.
 */
export class ParquetPool {
  private channel: WorkerChannel<Uint8Array, Uint8Array> | null = null;
  private busy: Promise<Uint8Array> | null = null;
  private owned = false;

  /** `worker`: an ingest worker to share (see startIngestWorkers; the caller stops it), else one of its own. */
  constructor(workers = Math.min(1, os.availableParallelism() - 1), worker?: Worker) {
    if (workers < 1 || (worker && !isWorkerAlive(worker))) return;
    this.owned = worker === undefined;
    this.channel = new WorkerChannel(worker ?? startIngestWorkers(1)[0]!, INGEST_CHANNELS.parquet);
  }

  /**
   * Encode `table`. On the worker when it is free (`offloaded`); when it is busy, a small table is encoded
   * right here (the caller's core), a large one waits for the worker. `accepted` resolves once the table
   * is handed over (or encoded here): the caller builds the next table meanwhile, then waits for it, so at
   * most one table waits beside the one being encoded.
   *
   * Why large tables never encode here: parquet-wasm's memory grows to the largest table an instance has
   * encoded and never shrinks (docs/bench-ingest.md), so encoding them on one thread
   * instead of two keeps one such instance, not two. Small tables (a 1M-row file's partitions) add little
   * to it, and encoding them here keeps both cores busy.
   */
  encode(table: Table): { bytes: Promise<Uint8Array>; offloaded: boolean; accepted: Promise<void> } {
    const channel = this.channel?.failed ? null : this.channel;
    if (channel && (this.busy === null || table.numRows > LOCAL_MAX_ROWS)) {
      const handOver = this.busy === null ? Promise.resolve() : this.busy.then(noop, noop);
      let posted: Promise<Uint8Array> | undefined;
      const accepted = handOver.then(() => {
        posted = this.post(table);
      });
      const bytes = accepted.then(() => posted!);
      const busy = bytes.finally(() => {
        if (this.busy === busy) this.busy = null;
      });
      busy.catch(noop); // observed by the caller through `bytes`
      this.busy = busy;
      return { bytes, offloaded: true, accepted };
    }
    return { bytes: encodeHere(table), offloaded: false, accepted: Promise.resolve() };
  }

  /** Send `table` to the worker, or encode it here if the worker failed while the table waited. */
  private post(table: Table): Promise<Uint8Array> {
    const channel = this.channel;
    if (!channel || channel.failed) return encodeHere(table);
    const ipc = tableToIPC(table, 'stream');
    return channel.call(ipc, [ipc.buffer as ArrayBuffer]);
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    if (!channel) return;
    channel.detach();
    if (this.owned) await channel.worker.terminate();
  }
}

// Largest table (rows) this thread encodes itself while the worker is busy; see ParquetPool.encode.
const LOCAL_MAX_ROWS = 8192;
const noop = () => undefined;

function encodeHere(table: Table): Promise<Uint8Array> {
  try {
    return Promise.resolve(tableToCompatibleParquet(table));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * What the worker does with one job (exported for the worker entry): the stream straight into the encoder
 * (the very stream `tableToCompatibleParquet` would make of the table, so the same bytes).
 */
export function encodeIpc(ipc: Uint8Array): Uint8Array {
  return ipcToCompatibleParquet(ipc);
}
