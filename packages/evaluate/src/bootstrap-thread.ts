/**
 * The bootstrap thread's side: evaluates the contenders of one split ({@link evaluateModels}) on the
 * second core while the main thread refits the learning curve and bootstraps the gate's paired
 * deltas. Loaded by `bootstrap-worker.ts` through core's `startWorkerModule`.
 */
import { serveChannel } from '@bolsillo/core';
import { BOOTSTRAP_CHANNEL, type BootstrapRequest } from './bootstrap-worker';
import { evaluateModels, type MetricSet } from './metrics';

serveChannel<BootstrapRequest, MetricSet[]>(BOOTSTRAP_CHANNEL, (r) => ({
  reply: evaluateModels(
    r.y,
    r.scores.map((scores, i) => ({ scores, threshold: r.thresholds[i]! })),
    r.options,
  ),
}));
