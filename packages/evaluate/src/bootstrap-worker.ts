/**
 * A worker thread for the bootstrap of whole splits. The resamples are fixed by the seed and the
 * rows, so a split evaluated on the thread gives exactly what the main thread would; the stage
 * only gains the second core (at 1M rows the bootstraps and the learning curve are most of the time
 * left after the master pass).
 */
import path from 'node:path';
import { WorkerChannel, startWorkerModule } from '@bolsillo/core';
import type { Worker } from 'node:worker_threads';
import type { BootstrapOptions, MetricSet } from './metrics';
import type { NumberColumn } from './score-master';

export const BOOTSTRAP_CHANNEL = 'evaluate.bootstrap';

/** One split to evaluate: labels, every contender's scores and threshold, and the bootstrap options. */
export interface BootstrapRequest {
  readonly y: NumberColumn;
  readonly scores: readonly NumberColumn[];
  readonly thresholds: readonly number[];
  readonly options: Omit<BootstrapOptions, 'groups'> & { readonly groups?: NumberColumn };
}

/** The thread module beside this one (TypeScript from sources, JavaScript from the built package). */
const THREAD_MODULE = path.join(__dirname, `bootstrap-thread${path.extname(__filename)}`);

/** A started bootstrap thread; {@link close} ends it. */
export class BootstrapWorker {
  private readonly worker: Worker;
  private readonly channel: WorkerChannel<BootstrapRequest, MetricSet[]>;

  constructor() {
    this.worker = startWorkerModule(THREAD_MODULE, { unref: true });
    this.channel = new WorkerChannel(this.worker, BOOTSTRAP_CHANNEL);
  }

  /** Evaluate one split's contenders on the thread: shared-memory arrays are shared, others copied; neither is written. */
  evaluate(request: BootstrapRequest): Promise<MetricSet[]> {
    return this.channel.call(request);
  }

  async close(): Promise<void> {
    this.channel.detach();
    await this.worker.terminate();
  }
}
