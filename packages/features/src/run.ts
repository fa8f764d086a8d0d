import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_PARQUET_COMPRESSION,
  cleanPartTemporaries,
  cleanTemporaries,
  dataLayout,
  listPartitions,
  partitionDir,
  shardOf,
  shardPartName,
  threadCpuSeconds,
  type FeatureParams,
  type ParquetCompression,
} from '@bolsillo/core';
import { FeatureRowSchema, arrowSchemaFor } from '@bolsillo/schema';
import type { Table } from 'apache-arrow';
import { PartitionReader, replayHistory, resumeStates, writeFeaturePartitions } from './compute-partitions';
import { commitFeatureRun, lakeAsOf, onlineStoreText } from './features-outputs';
import { partitionHash, planFeaturesRun, refuseCorrupt, type FeaturesRunPlan } from './features-plan';
import { FeatureWriterPool } from './parquet-worker';
import type { CustomerStates, ShardOfBatch } from './pipeline';

/** Options of {@link runFeatures}. */
export interface RunFeaturesOptions {
  readonly dataDir: string;
  readonly params: FeatureParams;
  /** Ignore the manifest and recompute every partition. */
  readonly full?: boolean;
  /** Codec setting of the written partitions (default core's `DEFAULT_PARQUET_COMPRESSION`); not part of the config hash, the content is the same. */
  readonly compression?: ParquetCompression;
  readonly log?: (message: string) => void;
  /** Clock for the manifest's `updated_at` (injected so tests can pin it). */
  readonly now?: () => Date;
  /**
   * Run shard `index` of `count`: the customers hashing to `index`, into `part-<index>.parquet` of each
   * date, with the shard's manifest and customer states in `feature-store/shards/<index>-of-<count>/`;
   * `mergeFeatures` then writes the store's manifest and online store file.
   */
  readonly shard?: ShardOfBatch;
}

/** What a features run did. */
export interface RunFeaturesResult {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly partitionsIn: number;
  readonly partitionsWritten: number;
  readonly partitionsRemoved: number;
  readonly customers: number;
  readonly from: string | null;
  readonly reason: string;
  /**
   * CPU seconds by thread (Linux only, else absent): the main thread (kernel) and each Parquet
   * thread (decode + interning, table build + encode + write), for benchmarks.
   */
  readonly threadCpuSeconds?: { readonly main: number; readonly parquet: readonly number[] };
}

const FEATURE_ARROW_SCHEMA = arrowSchemaFor(FeatureRowSchema);

/** Parquet threads: with the main thread's kernel, two keep both cores of the target machine busy. */
const PARQUET_THREADS = 2;

/** Manifest path of the offline store. */
export function featureManifestPath(dataDir: string): string {
  return dataLayout(dataDir).featureManifest;
}

/**
 * The features stage's I/O adapter: plan from the lake, the manifest and the online store; replay (or
 * resume) the customer histories; recompute the feature partitions whose inputs (or history) changed,
 * written atomically; then the online store and finally the manifest (so a crash mid-run leaves the old
 * manifest and the next run redoes the work).
 */
export async function runFeatures(options: RunFeaturesOptions): Promise<RunFeaturesResult> {
  try {
    return await computeFeatures(options);
  } catch (error) {
    // A partition that failed to decode may be corrupt: name it rather than the decoder's complaint.
    const layout = dataLayout(options.dataDir);
    const lake = listPartitions(layout.lake);
    refuseCorrupt(layout, lake, Object.fromEntries(lake.map((p) => [p.date, partitionHash(p)])));
    throw error;
  }
}

async function computeFeatures(options: RunFeaturesOptions): Promise<RunFeaturesResult> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const params = options.params;
  const shard = options.shard && options.shard.count > 1 ? options.shard : undefined;
  // Leftovers of a writer killed mid-rename; the manifest is only written after all partitions, so nothing is
  // lost. A shard removes only its own: the others may be writing theirs.
  if (shard) cleanPartTemporaries(layout.featureStore, [shardPartName(shard.index)]);
  else cleanTemporaries(path.dirname(layout.featureStore));
  const run = planFeaturesRun(layout, params, options.full === true, shard);
  if (shard)
    log(
      run.aligned
        ? `lake: reads only its own parts (part-${shard.index}, landing-${shard.index}): the lake is in ${shard.count} parts`
        : `lake: reads every lake file and keeps its customers' rows (the lake is not in ${shard.count} parts)`,
    );
  if (run.nothingToDo) {
    log(`nothing to do: ${run.reason}`);
    return { ...counts(run, 0, 0), customers: Object.keys(run.online!.customers).length };
  }
  log(`plan: ${run.reason}${run.from ? `; recompute from ${run.from}` : ''}`);
  for (const date of run.removed) {
    const dir = partitionDir(layout.featureStore, date);
    fs.rmSync(shard ? path.join(dir, shardPartName(shard.index)) : dir, { recursive: true, force: true });
  }

  // States just before `from`: resumed from the online store on a pure append, else replayed from the lake.
  const states: CustomerStates = new Map();
  const emptyDates = new Set(run.previous?.empty_dates ?? []);
  let onlineText = '';
  const io = new FeatureWriterPool(PARQUET_THREADS, options.compression ?? DEFAULT_PARQUET_COMPRESSION);
  try {
    const reader = new PartitionReader(io, [...run.replay, ...run.todo], run.hashWhileReading ? run.inputs : null);
    if (run.resumable) {
      resumeStates(run.online!, states);
      log(`resumed ${states.size} customer states from the online store as of ${run.online!.as_of}`);
    }
    const replayed = await replayHistory(reader, run.replay.length, states, params, shard);
    const written = await writeFeaturePartitions(reader, run.todo, {
      io,
      states,
      params,
      featureStore: layout.featureStore,
      ...(shard ? { shard, emptyDates } : {}),
      log,
      afterCompute: () => {
        if (shard) keepShardCustomers(states, shard);
        onlineText = onlineStoreText(states, params, lakeAsOf(run));
      },
    });
    const threads = await threadCpuReport(io, log);
    commitFeatureRun(layout, run, params, onlineText, (options.now ?? (() => new Date()))(), emptyDates);
    return {
      ...counts(run, replayed + written, written),
      customers: states.size,
      ...(threads ? { threadCpuSeconds: threads } : {}),
    };
  } finally {
    await io.close();
  }
}

/**
 * A shard's states: only its customers (a shard reading every lake file met the others' customers, whose
 * histories stayed empty).
 */
function keepShardCustomers(states: CustomerStates, shard: ShardOfBatch): void {
  for (const key of [...states.keys()]) if (shardOf(key, shard.count) !== shard.index) states.delete(key);
}

/** The counts of a run's result, all but customers. */
function counts(run: FeaturesRunPlan, rowsIn: number, rowsOut: number): Omit<RunFeaturesResult, 'customers'> {
  return {
    rowsIn,
    rowsOut,
    partitionsIn: run.lake.length,
    partitionsWritten: run.todo.length,
    partitionsRemoved: run.nothingToDo ? 0 : run.removed.length,
    from: run.from,
    reason: run.reason,
  };
}

/** CPU seconds by thread, logged (the process's CPU time is the sum over all of them); undefined off Linux. */
async function threadCpuReport(
  io: FeatureWriterPool,
  log: (message: string) => void,
): Promise<RunFeaturesResult['threadCpuSeconds']> {
  const workers = await io.cpuSeconds();
  const main = threadCpuSeconds();
  if (main === null || !workers.every((w) => w !== null)) return undefined;
  const parquet = workers as number[];
  log(`CPU s by thread: main ${main.toFixed(1)}, parquet threads ${parquet.map((w) => w.toFixed(1)).join(' + ')}`);
  return { main, parquet };
}

/** Arrow schema of a feature-store partition. */
export function featureArrowSchema(): Table['schema'] {
  return FEATURE_ARROW_SCHEMA;
}
