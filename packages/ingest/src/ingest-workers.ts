import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Start `count` ingest worker threads (ingest-worker.ts). A run starts them once, before parsing: they
 * parse byte ranges of large files, then encode Parquet partitions, so a thread (and its module loading,
 * a good second of CPU under tsx) is paid for once. The caller terminates them.
 */
export function startIngestWorkers(count: number): Worker[] {
  const entry = path.join(__dirname, `ingest-worker${path.extname(__filename)}`);
  // Under tsx or jest the worker loads TypeScript through tsx's CommonJS hook; compiled, plain require.
  const code = entry.endsWith('.ts')
    ? `require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`
    : `require(${JSON.stringify(entry)});`;
  return Array.from({ length: count }, () => {
    const w = new Worker(code, { eval: true });
    w.unref();
    w.on('error', () => dead.add(w));
    w.on('exit', () => dead.add(w));
    return w;
  });
}

const dead = new WeakSet<Worker>();

/** Whether a worker from {@link startIngestWorkers} can still take jobs (not failed, not exited). */
export function isAlive(worker: Worker): boolean {
  return !dead.has(worker);
}
