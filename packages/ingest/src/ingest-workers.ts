import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorkerModule } from '@bolsillo/core';

/** Channel names of an ingest worker: byte ranges parsed, Parquet encoded. */
export const INGEST_CHANNELS = { range: 'range parse', parquet: 'parquet encode' } as const;

/**
 * Start `count` ingest worker threads (ingest-worker.ts). A run starts them once, before parsing: they
 * parse byte ranges of large files, then encode Parquet partitions, so a thread and its module loading
 * are paid for once. The caller terminates them.
 */
export function startIngestWorkers(count: number): Worker[] {
  const entry = path.join(__dirname, `ingest-worker${path.extname(__filename)}`);
  return Array.from({ length: count }, () => startWorkerModule(entry, { unref: true }));
}
