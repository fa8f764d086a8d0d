import path from 'node:path';

/** Where every stage reads and writes, relative to the data folder (`DATA_DIR`, default `data`). */
export interface DataLayout {
  readonly root: string;
  /** Raw zone: validated, pseudonymised transactions, `date=YYYY-MM-DD/part-0.parquet`. */
  readonly lake: string;
  /** Rows that failed validation, with reasons. */
  readonly quarantine: string;
  /** Offline feature store manifest (config hash, params, input hashes). */
  readonly featureManifest: string;
  /** Ingest manifest (source files, hashes, partitions). */
  readonly ingestManifest: string;
  /** Offline feature store, same partitioning as the lake. */
  readonly featureStore: string;
  /** Online feature store: latest per-customer state. */
  readonly onlineStore: string;
  /**
   * The embedded online store (LMDB), outside the features stage's Nx outputs: pushes change it, and
   * a cache restore must never overwrite it.
   */
  readonly onlineEmbedded: string;
  /** Transactions accepted by HTTP push or the stream, for the next ingest (JSONL files). */
  readonly landing: string;
  /** Master tables, one folder per content hash. */
  readonly master: string;
  /** Model registry: `models/<version>/` and `aliases.json`. */
  readonly registry: string;
  /** Evaluation reports, one folder per model version. */
  readonly reports: string;
  /** Batch predictions, partitioned by date. */
  readonly predictions: string;
  /** Monitoring outputs: prediction log, drift, metrics, costs, alarms. */
  readonly monitoring: string;
}

/** The data layout under a data folder. */
export function dataLayout(root: string): DataLayout {
  const r = path.resolve(root);
  return {
    root: r,
    lake: path.join(r, 'lake', 'transactions'),
    quarantine: path.join(r, 'lake', 'quarantine'),
    ingestManifest: path.join(r, 'lake', 'manifest.json'),
    featureStore: path.join(r, 'feature-store', 'transactions'),
    featureManifest: path.join(r, 'feature-store', 'manifest.json'),
    onlineStore: path.join(r, 'feature-store', 'online'),
    onlineEmbedded: path.join(r, 'online'),
    landing: path.join(r, 'landing'),
    master: path.join(r, 'master'),
    registry: path.join(r, 'registry'),
    reports: path.join(r, 'reports'),
    predictions: path.join(r, 'predictions'),
    monitoring: path.join(r, 'monitoring'),
  };
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
