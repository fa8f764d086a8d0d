import fs from 'node:fs';
import path from 'node:path';

/**
 * Atomic, durable file writes run concurrently: each file is written to a temporary sibling, fsynced
 * and renamed into place, so readers (and a run killed at any point) see the old file or the new one,
 * never a partial one. fsync dominates the cost of many small partitions; overlapping them on the
 * libuv thread pool is what makes hundreds of partitions cheap.
 */
export class ConcurrentAtomicWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(private readonly limit = 8) {}

  /** Queue a write; resolves once there is room for another one. */
  async write(target: string, bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    const task = writeOne(target, bytes).catch((error: Error) => {
      this.failure ??= error;
    });
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Wait for every queued write; throws the first failure. */
  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }
}

async function writeOne(target: string, bytes: Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
  );
  try {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, target);
  } catch (error) {
    // A failed write (a full disk) leaves nothing behind: the partition is either whole or absent.
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
}
