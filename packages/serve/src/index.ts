/**
 * @packageDocumentation
 * The serve stage: online features, safe model switching, champion/challenger routing, the
 * prediction log, Prometheus metrics and batch scoring. `apps/api` puts HTTP on top of it.
 */
export { createServing, smokeRowFor, defaultWriterId } from './serving';
export type { Serving, ServingOptions, FeedbackLogEntry } from './serving';
export { configFromEnv } from './config';
export type { ServeConfig } from './config';
export { ModelHost, smokeTest } from './model-host';
export type { ModelHostOptions, ServingSlot } from './model-host';
export type { ScoringModel, ModelLoader, Variant } from './model';
export { OnlineFeatures, featuresForRequest } from './online-features';
export type { OnlineFeatureRow, OnlineFeaturesOptions } from './online-features';
export { LandingWriter, readLanding } from './landing';
export type { LandedTransaction } from './landing';
export { PushService } from './push';
export { runConsumer } from './consume';
export type { ConsumerOptions, ConsumerSummary } from './consume';
export type { PushResult, PushServiceDeps } from './push';
export { PredictionService, NotReadyError, InvalidRequestError, semanticErrors } from './service';
export type { PredictionServiceDeps, PredictionResult } from './service';
export { scoreRows, chooseVariant, stickyBucket } from './scoring';
export type { RowScore, RoutingConfig } from './scoring';
export { JsonlLog } from './jsonl-log';
export { RequestIds } from './request-ids';
export type { RequestIdsOptions } from './request-ids';
export type { JsonlLogOptions } from './jsonl-log';
export { createMetrics, Counter, Gauge, Histogram, LATENCY_BUCKETS, PUSH_OUTCOMES } from './metrics';
export type { ServeMetrics, MetricsOptions, PushOutcome } from './metrics';
export { scorePartitions, scoreFeatureRows, BatchPredictionRowSchema } from './batch';
export type { BatchPredictionRow, BatchSummary } from './batch';
export { registerDemoModel, registerDemoChampion, registerDemoChallenger } from './demo-model';
