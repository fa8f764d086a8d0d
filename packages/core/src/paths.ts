import path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import {
  AliasesSchema,
  BuildFailureSchema,
  DecisionSchema,
  EvaluationMetricsSchema,
  FeatureRowSchema,
  FeatureStoreManifestSchema,
  FeedbackLogEntrySchema,
  IngestManifestSchema,
  GateVerdictSchema,
  LeakageReportSchema,
  MasterLatestSchema,
  MasterManifestSchema,
  MasterRowSchema,
  ModelCardSchema,
  PredictionLogEntrySchema,
  ProfileSchema,
  QualityReportSchema,
  SelectionSchema,
  SplitSummarySchema,
  StageRunSchema,
  TransactionSchema,
} from '@bolsillo/schema';

/** One dataset of the catalogue: where it lives, who writes and reads it, and its contract. */
export interface Dataset {
  /**
   * Path under the data folder. `{hash}` stands for a master table's folder name, `{version}` for a
   * model version, `{file}` for a source file name: the layout then gives a function of that id.
   */
  readonly path: string;
  readonly format:
    | 'folder'
    | 'json'
    | 'jsonl'
    | 'parquet'
    | 'date partitions (parquet)'
    | 'date partitions (jsonl)'
    | 'jsonl files'
    | 'lmdb'
    | 'binary'
    | 'csv'
    | 'html'
    | 'markdown';
  readonly writer: string;
  readonly readers: string;
  /** The `@bolsillo/schema` contract the file is written through and validated against on read. */
  readonly schema?: TSchema;
  /** Where the contract lives when it is not (yet) in `@bolsillo/schema`. */
  readonly contract?: string;
  readonly description: string;
}

/**
 * The dataset catalogue: every file and folder the stages hand to each other under the data folder
 * (`DATA_DIR`, default `data/`), in pipeline order. {@link dataLayout} resolves it; docs/architecture.md
 * lists it (a test keeps the two equal).
 */
export const DATASETS = {
  lake: {
    path: 'lake/transactions',
    format: 'date partitions (parquet)',
    writer: 'ingest',
    readers: 'features',
    schema: TransactionSchema,
    description:
      'Validated, pseudonymised transactions, `date=YYYY-MM-DD/part-<i>.parquet` and `landing-<i>.parquet` (i = shard; 0 in one process).',
  },
  quarantine: {
    path: 'lake/quarantine',
    format: 'jsonl files',
    writer: 'ingest',
    readers: 'people',
    contract: 'QuarantineEntry (ingest)',
    description: 'Rows that failed validation, one `<source file>.jsonl` per file, with the reasons.',
  },
  quarantinedFile: {
    path: 'lake/quarantine/{file}.rejected.json',
    format: 'json',
    writer: 'ingest',
    readers: 'people',
    description: 'A source file quarantined whole (wrong header, undecodable bytes), with the reason.',
  },
  ingestManifest: {
    path: 'lake/manifest.json',
    format: 'json',
    writer: 'ingest',
    readers: 'ingest (incremental runs), features (partition hashes), monitor (rejected files, k-anonymity)',
    schema: IngestManifestSchema,
    description: 'Source files ingested, their hashes and the partitions they made.',
  },
  lakeShards: {
    path: 'lake/shards',
    format: 'folder',
    writer: 'ingest --shard i/N, ingest --parts N',
    readers: 'ingest (its next run, the merge)',
    description: 'One folder per shard, `<i>-of-<N>`, with that shard’s manifest and landing state.',
  },
  lakeShardManifest: {
    path: 'lake/shards/{shard}/manifest.json',
    format: 'json',
    writer: 'ingest --shard i/N, ingest --parts N',
    readers: 'ingest (its next run, the merge)',
    schema: IngestManifestSchema,
    description: 'A shard’s lake manifest: its customers’ rows and parts only, and their k-anonymity groups.',
  },
  landingState: {
    path: 'lake/landing.json',
    format: 'json',
    writer: 'ingest',
    readers: 'ingest',
    description: 'Which landed transactions the lake already holds.',
  },
  featureStore: {
    path: 'feature-store/transactions',
    format: 'date partitions (parquet)',
    writer: 'features',
    readers: 'build, monitor, serve batch',
    schema: FeatureRowSchema,
    description: 'Offline feature store, partitioned like the lake.',
  },
  featureManifest: {
    path: 'feature-store/manifest.json',
    format: 'json',
    writer: 'features',
    readers: 'features (incremental runs), build (flag rule), monitor, serve batch (feature params)',
    schema: FeatureStoreManifestSchema,
    description: 'Config hash, feature params and input hashes of the offline store.',
  },
  onlineStore: {
    path: 'feature-store/online',
    format: 'folder',
    writer: 'features',
    readers: 'serve (API), monitor',
    description: 'Online feature store: the latest per-customer state (`customers.json`).',
  },
  onlineSnapshot: {
    path: 'feature-store/online/customers.json',
    format: 'json',
    writer: 'features',
    readers: 'serve (API), monitor',
    contract: 'OnlineStoreSnapshot (core)',
    description: 'Per-customer feature state at the end of the lake.',
  },
  featureShards: {
    path: 'feature-store/shards',
    format: 'folder',
    writer: 'features --shard i/N',
    readers: 'features (its next run, the merge)',
    description: 'One folder per shard, `<i>-of-<N>`, with that shard’s manifest and customer states.',
  },
  featureShardManifest: {
    path: 'feature-store/shards/{shard}/manifest.json',
    format: 'json',
    writer: 'features --shard i/N',
    readers: 'features (its next run, the merge)',
    schema: FeatureStoreManifestSchema,
    description:
      'A shard’s feature-store manifest: the hashes of the lake files it read, the dates where it has no rows.',
  },
  featureShardStates: {
    path: 'feature-store/shards/{shard}/customers.json',
    format: 'json',
    writer: 'features --shard i/N',
    readers: 'features (its next run, the merge: the online store is their union)',
    contract: 'OnlineStoreSnapshot (core)',
    description: 'The states of a shard’s customers at the end of the lake.',
  },
  onlineEmbedded: {
    path: 'online',
    format: 'lmdb',
    writer: 'serve (API, consumer)',
    readers: 'serve (API)',
    description:
      'The embedded online store, outside the features stage’s Nx outputs: pushes change it, and a cache restore must never overwrite it.',
  },
  landing: {
    path: 'landing',
    format: 'jsonl files',
    writer: 'serve (HTTP push, stream consumer)',
    readers: 'ingest',
    contract: 'LandedTransaction (serve)',
    description: 'Transactions accepted by HTTP push or the stream, for the next ingest.',
  },
  master: {
    path: 'master',
    format: 'folder',
    writer: 'build',
    readers: 'train, evaluate, monitor, serve',
    description: 'Master tables, one folder per hash of content, params and code.',
  },
  masterLatest: {
    path: 'master/latest.json',
    format: 'json',
    writer: 'build',
    readers: 'train, evaluate, monitor, serve',
    schema: MasterLatestSchema,
    description: 'Which master table is current; written last.',
  },
  masterFailure: {
    path: 'master/last-failure.json',
    format: 'json',
    writer: 'build (a failed quality or leakage gate)',
    readers: 'people',
    schema: BuildFailureSchema,
    description: 'Why the last build stopped, with its quality and leakage reports.',
  },
  masterShards: {
    path: 'master/shards',
    format: 'folder',
    writer: 'build --shard i/N',
    readers: 'build (the merge)',
    description:
      'One folder per shard, `<i>-of-<N>`: its customers’ labelled snapshots (`rows.parquet`) and counts (`stats.json`); removed by the merge.',
  },
  masterDir: {
    path: 'master/{hash}',
    format: 'folder',
    writer: 'build',
    readers: 'train, evaluate, monitor, serve',
    description: 'One master table and its reports, written atomically as a folder.',
  },
  masterTable: {
    path: 'master/{hash}/master.parquet',
    format: 'parquet',
    writer: 'build',
    readers: 'train, evaluate, monitor (reference)',
    schema: MasterRowSchema,
    description:
      'Snapshots with features, target, customer group, split and CV fold. Past 8,388,608 rows the table goes on in `master.1.parquet`, `master.2.parquet`… (each file stays readable by 32-bit parquet-wasm), which the core readers read with it.',
  },
  masterManifest: {
    path: 'master/{hash}/manifest.json',
    format: 'json',
    writer: 'build',
    readers: 'train (horizon), monitor (horizon), serve (horizon)',
    schema: MasterManifestSchema,
    description: 'Inputs, params, code version and target summary of the master table.',
  },
  masterSelection: {
    path: 'master/{hash}/selection.json',
    format: 'json',
    writer: 'build',
    readers: 'train',
    schema: SelectionSchema,
    description: 'The model feature list, and why every candidate is in or out.',
  },
  masterProfile: {
    path: 'master/{hash}/profile.json',
    format: 'json',
    writer: 'build',
    readers: 'monitor (drift reference), serve (unseen categories)',
    schema: ProfileSchema,
    description: 'Distribution of every feature and the target.',
  },
  masterSplits: {
    path: 'master/{hash}/splits.json',
    format: 'json',
    writer: 'build',
    readers: 'people',
    schema: SplitSummarySchema,
    description: 'Sizes and prevalence per split and per CV fold.',
  },
  masterQuality: {
    path: 'master/{hash}/quality.json',
    format: 'json',
    writer: 'build',
    readers: 'people',
    schema: QualityReportSchema,
    description: 'The quality suite and its results.',
  },
  masterLeakage: {
    path: 'master/{hash}/leakage.json',
    format: 'json',
    writer: 'build',
    readers: 'people',
    schema: LeakageReportSchema,
    description: 'The leakage checks and what they found.',
  },
  masterReport: {
    path: 'master/{hash}/report.md',
    format: 'markdown',
    writer: 'build',
    readers: 'people',
    description: 'The build report.',
  },
  registry: {
    path: 'registry',
    format: 'folder',
    writer: 'train, evaluate, monitor, API admin',
    readers: 'evaluate, serve, monitor',
    description: 'Model registry.',
  },
  registryAliases: {
    path: 'registry/aliases.json',
    format: 'json',
    writer: 'train, evaluate, monitor, API admin',
    readers: 'serve, evaluate, monitor, train',
    schema: AliasesSchema,
    description: 'Champion, challenger and previous, changed atomically as one file.',
  },
  registryAudit: {
    path: 'registry/audit.jsonl',
    format: 'jsonl',
    writer: 'train, evaluate, monitor, API admin',
    readers: 'people, API admin',
    contract: 'AuditEntry (model)',
    description: 'Who changed which alias, when and why.',
  },
  registryAliasMove: {
    path: 'registry/.alias-move.json',
    format: 'json',
    writer: 'train, evaluate, monitor, API admin',
    readers: 'the registry (readAudit, its next writer)',
    contract: 'AuditEntry (model)',
    description:
      'The alias move in progress: its audit entry, written before aliases.json and removed once in the trail; a writer killed in between leaves it to the next writer, which completes it (or drops it: aliases.json not written).',
  },
  registryModels: {
    path: 'registry/models',
    format: 'folder',
    writer: 'train',
    readers: 'evaluate, serve, monitor',
    description: 'One folder per model version.',
  },
  modelDir: {
    path: 'registry/models/{version}',
    format: 'folder',
    writer: 'train',
    readers: 'evaluate, serve, monitor',
    description: 'One model version, written atomically as a folder.',
  },
  modelJson: {
    path: 'registry/models/{version}/model.json',
    format: 'json',
    writer: 'train',
    readers: 'evaluate, serve, monitor (loadModel)',
    contract: 'ModelJson (model)',
    description: 'The model’s topology, trees or baseline rule.',
  },
  modelWeights: {
    path: 'registry/models/{version}/weights.bin',
    format: 'binary',
    writer: 'train',
    readers: 'evaluate, serve, monitor (loadModel)',
    description: 'Network weights (empty for trees and baselines).',
  },
  modelCard: {
    path: 'registry/models/{version}/card.json',
    format: 'json',
    writer: 'train',
    readers: 'evaluate, serve, monitor, train (registry CLI)',
    schema: ModelCardSchema,
    description: 'Everything needed to trust, reproduce and serve the model.',
  },
  modelDecision: {
    path: 'registry/models/{version}/decision.json',
    format: 'json',
    writer: 'evaluate',
    readers: 'serve, monitor (loadModel), monitor (value matrix), train (registry CLI)',
    schema: DecisionSchema,
    description: 'The threshold the version serves at, and the value matrix it was chosen with.',
  },
  modelTrials: {
    path: 'registry/models/{version}/trials.json',
    format: 'json',
    writer: 'train',
    readers: 'people',
    description: 'Every hyperparameter trial of the search (also as `trials.csv`).',
  },
  modelTrialsCsv: {
    path: 'registry/models/{version}/trials.csv',
    format: 'csv',
    writer: 'train',
    readers: 'people',
    description: 'The trials as a table.',
  },
  reports: {
    path: 'reports',
    format: 'folder',
    writer: 'evaluate',
    readers: 'monitor, API (`/reports/`)',
    description: 'Evaluation reports, one folder per model version.',
  },
  reportsIndex: {
    path: 'reports/index.html',
    format: 'html',
    writer: 'evaluate',
    readers: 'people, API (`/reports/`)',
    description: 'Every version with its metrics and verdict.',
  },
  evaluateShards: {
    path: 'reports/.shards',
    format: 'folder',
    writer: 'evaluate --shard i/N',
    readers: 'evaluate (the merge)',
    description:
      'One folder per shard, `<i>-of-<N>`: each evaluation row’s scores and its slot (its index among its split’s rows in the master table); a dot folder, never served; removed by the merge.',
  },
  evaluatePromotion: {
    path: 'reports/.promotion.json',
    format: 'json',
    writer: 'evaluate',
    readers: 'evaluate (its rerun)',
    contract: 'PromotionRecord (evaluate)',
    description:
      'The promotion an evaluation is about to make and the aliases it saw: written before the champion alias moves, removed after the report, so a run killed in between is rerun against the same aliases; a dot file, never served.',
  },
  reportDir: {
    path: 'reports/{version}',
    format: 'folder',
    writer: 'evaluate',
    readers: 'people, API (`/reports/`)',
    description: 'One version’s report, its plots (`*.svg`) and records, written atomically as a folder.',
  },
  reportMetrics: {
    path: 'reports/{version}/metrics.json',
    format: 'json',
    writer: 'evaluate',
    readers: 'evaluate (index), monitor (evaluated metrics)',
    schema: EvaluationMetricsSchema,
    description: 'Metrics with intervals of every contender, lift, learning curve, per-customer spread.',
  },
  reportVerdict: {
    path: 'reports/{version}/verdict.json',
    format: 'json',
    writer: 'evaluate',
    readers: 'evaluate (forced promotion), train (registry CLI)',
    schema: GateVerdictSchema,
    description: 'The promotion gate’s verdict: the one record of the comparison with champion and baselines.',
  },
  reportHtml: {
    path: 'reports/{version}/report.html',
    format: 'html',
    writer: 'evaluate',
    readers: 'people, API (`/reports/`)',
    description: 'The evaluation report.',
  },
  predictions: {
    path: 'predictions',
    format: 'date partitions (parquet)',
    writer: 'serve batch',
    readers: 'people, downstream jobs',
    contract: 'BatchPredictionRowSchema (serve)',
    description: 'Batch predictions, partitioned by date.',
  },
  monitoring: {
    path: 'monitoring',
    format: 'folder',
    writer: 'serve (API), every stage’s CLI, monitor',
    readers: 'monitor, API (`/monitoring`)',
    description: 'Prediction log, feedback, run costs and monitoring reports.',
  },
  predictionLog: {
    path: 'monitoring/predictions',
    format: 'date partitions (jsonl)',
    writer: 'serve (API)',
    readers: 'monitor',
    schema: PredictionLogEntrySchema,
    description: 'One line per prediction served.',
  },
  feedbackLog: {
    path: 'monitoring/feedback',
    format: 'date partitions (jsonl)',
    writer: 'serve (API)',
    readers: 'monitor',
    schema: FeedbackLogEntrySchema,
    description: 'Observed outcomes of served predictions.',
  },
  stageRuns: {
    path: 'monitoring/runs.jsonl',
    format: 'jsonl',
    writer: 'every stage’s CLI (`runCli` in core)',
    readers: 'monitor (compute cost)',
    schema: StageRunSchema,
    description: 'Wall and CPU time, peak memory and rows of every stage run.',
  },
  monitorReport: {
    path: 'monitoring/report',
    format: 'folder',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    description: 'The last monitor run’s reports, the files below.',
  },
  monitorDrift: {
    path: 'monitoring/report/drift.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'DriftReport (monitor)',
    description: 'Feature and score drift of the window against the reference.',
  },
  monitorMetrics: {
    path: 'monitoring/report/model-metrics.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'MonitorSummary.metrics (monitor)',
    description: 'Metrics of every served version on labelled outcomes, over time.',
  },
  monitorValue: {
    path: 'monitoring/report/value.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'MonitorSummary.value (monitor)',
    description: 'Realised value per version and day under the value matrices.',
  },
  monitorCosts: {
    path: 'monitoring/report/costs.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'CostReport (monitor)',
    description: 'Compute cost of the stages and of serving.',
  },
  monitorAlarms: {
    path: 'monitoring/report/alarms.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'MonitorSummary.alarms (monitor)',
    description: 'Every alarm rule’s status and the actions taken.',
  },
  monitorDataHealth: {
    path: 'monitoring/report/data.json',
    format: 'json',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'DataHealthReport (monitor)',
    description: 'Quarantined files, k-anonymity, merchant groups absent from the reference.',
  },
  monitorState: {
    path: 'monitoring/state.json',
    format: 'json',
    writer: 'monitor',
    readers: 'monitor (next run)',
    contract: 'MonitorState (monitor)',
    description: 'Per-rule memory between runs: what makes the alarms hysteretic.',
  },
  monitorActions: {
    path: 'monitoring/actions.jsonl',
    format: 'jsonl',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'ActionRecord (monitor)',
    description: 'Every action the alarm policy took or requested.',
  },
  monitorActionsPending: {
    path: 'monitoring/.actions-pending.json',
    format: 'json',
    writer: 'monitor',
    readers: 'monitor (next run)',
    contract: 'ActionJournal (monitor)',
    description:
      'A run’s actions while they run: the planned actions, the records so far and the policy state to write; a run killed while acting leaves it, and the next run appends its records (the action in flight as the audit trail shows it) and writes that state.',
  },
  driftHistory: {
    path: 'monitoring/drift-history.jsonl',
    format: 'jsonl',
    writer: 'monitor',
    readers: 'API (`/monitoring`)',
    contract: 'MonitoringPageData.driftHistory (monitor)',
    description: 'PSI per feature, one line per monitor run.',
  },
} as const satisfies Record<string, Dataset>;

/** A dataset's name in the catalogue. */
export type DatasetKey = keyof typeof DATASETS;

/** A path with an `{id}` resolves to a function of that id; any other to a path. */
type Resolved<P extends string> = P extends `${string}{${string}}${string}` ? (id: string) => string : string;

/** Where every stage reads and writes: each {@link DATASETS} entry resolved under a data folder. */
export type DataLayout = { readonly root: string } & {
  readonly [K in DatasetKey]: Resolved<(typeof DATASETS)[K]['path']>;
};

type RegistryKey = {
  [K in DatasetKey]: (typeof DATASETS)[K]['path'] extends `registry/${string}` ? K : never;
}[DatasetKey];

/** The registry's files under any registry folder (the registry's functions take the folder). */
export type RegistryLayout = { readonly [K in RegistryKey]: Resolved<(typeof DATASETS)[K]['path']> };

/** An id must name one folder or file: no separators, never `.` or `..`. */
function checkedId(name: string, id: string): string {
  if (!id || id === '.' || id === '..' || /[/\\]/.test(id))
    throw new Error(`data layout: ${name} "${id}" is not a file or folder name`);
  return id;
}

function resolveTemplate(root: string, template: string): string | ((id: string) => string) {
  const m = /\{(\w+)\}/.exec(template);
  if (!m) return path.join(root, template);
  const [placeholder, name] = m as unknown as [string, string];
  return (id: string) => path.join(root, template.replace(placeholder, checkedId(name, id)));
}

function resolveAll(root: string, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(DATASETS as Record<string, Dataset>))
    if (d.path.startsWith(prefix)) out[key] = resolveTemplate(root, d.path.slice(prefix.length));
  return out;
}

/**
 * The data layout under a data folder.
 *
 * @example dataLayout('data').masterSelection(hash) // '/abs/data/master/<hash>/selection.json'
 */
export function dataLayout(root: string): DataLayout {
  const r = path.resolve(root);
  return { root: r, ...resolveAll(r, '') } as DataLayout;
}

/** The registry's files under `registryDir` (the `registry/…` entries of {@link DATASETS}). */
export function registryLayout(registryDir: string): RegistryLayout {
  return resolveAll(path.resolve(registryDir), 'registry/') as RegistryLayout;
}

/** The catalogue as a Markdown table (docs/architecture.md, "The dataset catalogue"). */
export function catalogueMarkdown(): string {
  const rows = Object.entries(DATASETS as Record<string, Dataset>).map(([key, d]) => [
    `\`${d.path}\``,
    `\`${key}\``,
    d.format,
    d.writer,
    d.readers,
    d.schema ? `\`${schemaName(d.schema)}Schema\`` : d.contract ? d.contract.replace(/^([\w.]+)/, '`$1`') : '—',
    d.description,
  ]);
  const header = ['path', 'layout key', 'format', 'written by', 'read by', 'contract', 'what'];
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** A schema's name: its title, or its $id. */
export function schemaName(schema: TSchema): string {
  const s = schema as { title?: unknown; $id?: unknown };
  return String(s.title ?? s.$id ?? 'contract');
}

/** Folders named by the environment (`DATA_DIR`, `RAW_DIR`), resolved against `cwd`. For CLI adapters only. */
export function dirsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { dataDir: string; rawDir: string } {
  return {
    dataDir: path.resolve(cwd, env.DATA_DIR || 'data'),
    rawDir: path.resolve(cwd, env.RAW_DIR || path.join('data', 'raw')),
  };
}
