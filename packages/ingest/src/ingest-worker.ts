import { parentPort } from 'node:worker_threads';
import { encodeIpc } from './parquet-pool';
import { parseRangeJob, type RangeJob } from './parse-ranges';

// Worker entry of the ingest run (one thread per extra core, started once, used by both phases):
// a byte range of a source file in → its typed columns out (parseFileParallel, replies tagged 'range');
// an Arrow IPC stream in → Parquet bytes out (ParquetPool).
parentPort?.on('message', (m: { id: number; job?: RangeJob; ipc?: Uint8Array }) => {
  if (m.job) {
    parseRangeJob(m.job).then(
      ({ result, transfer }) => parentPort!.postMessage({ kind: 'range', id: m.id, result }, transfer),
      (error: Error) => parentPort!.postMessage({ kind: 'range', id: m.id, error: error.message }),
    );
    return;
  }
  try {
    const bytes = encodeIpc(m.ipc!);
    parentPort!.postMessage({ id: m.id, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id: m.id, error: (error as Error).message });
  }
});
