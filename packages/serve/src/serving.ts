import os from 'node:os';
import { dataLayout, openEmbeddedOnlineStore, readContract, type DataLayout, type OnlineStore } from '@bolsillo/core';
import {
  MasterLatestSchema,
  MasterManifestSchema,
  PREDICTION_EXAMPLE,
  type FeedbackLogEntry,
  type PredictionLogEntry,
} from '@bolsillo/schema';
import { createMetrics, type ServeMetrics } from './metrics';
import { ModelHost } from './model-host';
import type { ModelLoader } from './model';
import { OnlineFeatures, featuresForRequest } from './online-features';
import { JsonlLog } from './jsonl-log';
import { LandingWriter } from './landing';
import { PushService } from './push';
import { RequestIds } from './request-ids';
import { SeenCategories } from './seen-categories';
import { PredictionService, type ServedTarget } from './service';
import type { RoutingConfig } from './scoring';

/** One line of the feedback log (the contract monitor reads). */
export type { FeedbackLogEntry };

/** Everything the API routes use, wired over one data folder. */
export interface Serving {
  readonly dataDir: string;
  readonly registryDir: string;
  readonly reportsDir: string;
  readonly metrics: ServeMetrics;
  readonly host: ModelHost;
  readonly features: OnlineFeatures;
  readonly service: PredictionService;
  /** `POST /transactions`: fold pushed transactions into the online store, landing them first. */
  readonly push: PushService;
  readonly landing: LandingWriter;
  readonly predictionLog: JsonlLog<PredictionLogEntry>;
  readonly feedbackLog: JsonlLog<FeedbackLogEntry>;
  /** Request ids of predictions made (feedback about any other id is refused). */
  readonly requestIds: RequestIds;
  /** Load the models the aliases name and start following them. */
  start(): Promise<void>;
  /** Stop watching and flush the logs. */
  close(): Promise<void>;
}

/** Options of {@link createServing}. */
export interface ServingOptions {
  readonly dataDir: string;
  readonly load: ModelLoader;
  /** Pseudonymisation secret (the same as ingest's). */
  readonly secret: string;
  readonly routing?: RoutingConfig;
  /** How often the registry aliases and the online store file are checked for changes (ms; 0 = never). */
  readonly pollMs?: number;
  readonly logFlushMs?: number;
  readonly log?: (message: string) => void;
  /** The online store (opened by the caller, closed with the serving); the embedded store in DATA_DIR/online by default. */
  readonly store?: OnlineStore;
  /** This process's landing writer id (default `api-<host>-<pid>`). */
  readonly landingWriter?: string;
}

/** The default landing writer id of an API process. */
export function defaultWriterId(prefix: string): string {
  return `${prefix}-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}`;
}

/** The row every model must score before it may serve: the features of the Swagger example. */
export function smokeRowFor(features: OnlineFeatures): Record<string, unknown> {
  return featuresForRequest(PREDICTION_EXAMPLE, null, undefined, features.params).features as unknown as Record<
    string,
    unknown
  >;
}

/** Forecast horizon used before any build has run (the build params' default). */
export const DEFAULT_HORIZON_DAYS = 7;

/** The forecast horizon of the latest master table (`master/latest.json` → its manifest), or the default. */
export function latestHorizonDays(layout: DataLayout): number {
  const latest = readContract(layout.masterLatest, MasterLatestSchema, null);
  if (!latest) return DEFAULT_HORIZON_DAYS;
  const manifest = readContract(layout.masterManifest(latest.hash), MasterManifestSchema, null);
  return manifest?.target.horizon_days ?? DEFAULT_HORIZON_DAYS;
}

/**
 * The flag's rule as the features were computed with it (the online store's params: the build
 * stage checks that its own rule is the same) and the latest master table's horizon.
 */
function servedTarget(features: OnlineFeatures, horizonDays: number): ServedTarget {
  const p = features.params;
  return { rule: { threshold: p.revengeThreshold, essential_groups: p.essentialGroups }, horizonDays };
}

/** Wire the serving components over a data folder (nothing is loaded until `start`). */
export function createServing(options: ServingOptions): Serving {
  const layout = dataLayout(options.dataDir);
  const log = options.log ?? ((m: string) => process.stderr.write(`[serve] ${m}\n`));
  const metrics = createMetrics({ eventLoopDelay: true });
  const store = options.store ?? openEmbeddedOnlineStore(layout.onlineEmbedded);
  const features = new OnlineFeatures({
    store,
    snapshotFile: layout.onlineSnapshot,
    secret: options.secret,
    log,
  });
  const landing = LandingWriter.open(layout.landing, options.landingWriter ?? defaultWriterId('api'));
  const push = new PushService({ store, landing, keyFor: (p) => features.keyFor(p)! });
  const horizonDays = latestHorizonDays(layout);
  const host = new ModelHost({
    registryDir: layout.registry,
    load: options.load,
    smokeRow: smokeRowFor(features),
    metrics,
    log,
    pollMs: options.pollMs,
  });
  const onDrop = (n: number) => metrics.logDropped.inc({}, n);
  const startMs = Date.now();
  const predictionLog = new JsonlLog<PredictionLogEntry>({
    root: layout.predictionLog,
    flushMs: options.logFlushMs,
    onDrop,
    log,
    startMs,
  });
  const feedbackLog = new JsonlLog<FeedbackLogEntry>({
    root: layout.feedbackLog,
    flushMs: options.logFlushMs,
    onDrop,
    log,
    startMs,
  });
  const requestIds = new RequestIds({ root: layout.predictionLog });
  // A merchant group the model never saw is scored (as out-of-vocabulary) and counted, for /metrics and monitoring.
  const seenCategories = new SeenCategories(layout);
  const masterHashOf = (version: string) =>
    [host.slot('champion'), host.slot('challenger')].find((s) => s?.version === version)?.model.card.master_hash;
  const service = new PredictionService({
    host,
    features,
    routing: options.routing ?? { challengerPercent: 0, shadow: false },
    metrics,
    logPrediction: (date, entry) => {
      requestIds.add(entry.request_id);
      for (const feature of seenCategories.unseen(
        masterHashOf(entry.model_version),
        entry.features as Readonly<Record<string, unknown>>,
      )) {
        metrics.unseenCategories.inc({ feature, model_version: entry.model_version });
      }
      predictionLog.push(date, entry);
    },
    target: () => servedTarget(features, horizonDays),
  });
  return {
    dataDir: layout.root,
    registryDir: layout.registry,
    reportsDir: layout.reports,
    metrics,
    host,
    features,
    service,
    push,
    landing,
    predictionLog,
    feedbackLog,
    requestIds,
    start: async () => {
      await host.start();
      features.watch(options.pollMs ?? 1000);
    },
    close: async () => {
      host.close();
      features.stop();
      metrics.close();
      await Promise.all([predictionLog.close(), feedbackLog.close(), landing.flush()]);
      await store.close();
    },
  };
}
