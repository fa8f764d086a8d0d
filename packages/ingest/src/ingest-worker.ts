import { serveChannel } from '@bolsillo/core';
import { INGEST_CHANNELS } from './ingest-workers';
import { encodeIpc } from './parquet-pool';
import type { RangeResult } from './parse-fast';
import { parseRangeJob, type RangeJob } from './parse-ranges';

// Worker entry of the ingest run (one thread per extra core, started once, used by both phases):
// a byte range of a source file in → its typed columns out (parseFileParallel);
// an Arrow IPC stream in → Parquet bytes out (ParquetPool).
serveChannel<RangeJob, RangeResult>(INGEST_CHANNELS.range, async (job) => {
  const { result, transfer } = await parseRangeJob(job);
  return { reply: result, transfer };
});
serveChannel<Uint8Array, Uint8Array>(INGEST_CHANNELS.parquet, (ipc) => {
  const bytes = encodeIpc(ipc);
  return { reply: bytes, transfer: [bytes.buffer as ArrayBuffer] };
});
