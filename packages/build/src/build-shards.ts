import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  loadParams,
  partShard,
  readContract,
  readJson,
  sha256,
  canonicalJson,
  shardOf,
  shardTag,
  writeDirAtomic,
  writeJsonAtomic,
  writeParquetBatches,
  type DataLayout,
  type StageResult,
} from '@bolsillo/core';
import { FeatureStoreManifestSchema, SPLITS, TARGET, type MasterManifest } from '@bolsillo/schema';
import { BuildError, finishMaster, labelSnapshots, type LabelledSnapshots } from './build';
import { BooleanColumn, column, reorderInPlace, takeRows, type Frame } from './frame';
import { assembleMaster, canonicalOrder } from './master';
import { BuildParamsSchema, type BuildParams } from './params';
import { defaultSuite, qualityFailureMessage, suitePartial, suiteReport, type SuitePartial } from './quality';
import { masterChunks, writeBuildFailure } from './build-outputs';
import { featureStorePartitions, readFeatureStore } from './read-feature-store';
import { DEFAULT_PARAMS_FILE, checkFlagRule, writeBuild } from './run';

/** A feature-store file a build read, as the master manifest lists it. */
type BuildInput = MasterManifest['inputs'][number];

/** Rows per Arrow chunk of a shard's staged rows (as master.parquet). */
const CHUNK_ROWS = 131_072;

/** What a build shard hands to the merge besides its rows: the counts that add up over shards. */
interface ShardStats {
  readonly version: 1;
  readonly shard: { readonly index: number; readonly count: number };
  /** Hash of the params and reference date the shard ran with: the merge refuses a mix. */
  readonly run: string;
  readonly quality: SuitePartial;
  readonly rows_in: number;
  readonly flag: LabelledSnapshots['flag'];
  readonly target: LabelledSnapshots['target'];
  readonly rows_out: number;
  readonly inputs: readonly BuildInput[];
}

/** Shard i of N's folder of staged results: `master/shards/<i>-of-<N>/{rows.parquet, stats.json}`. */
export function buildShardDir(layout: DataLayout, index: number, count: number): string {
  return path.join(layout.masterShards, shardTag(index, count));
}

/** Options of {@link runBuildShard} and {@link mergeBuild}. */
export interface BuildShardOptions {
  readonly dataDir: string;
  readonly paramsFile?: string;
  readonly asOf?: string;
  readonly log?: (message: string) => void;
}

/**
 * Shard i of N of the build: the feature rows of the customers hashing to i (its own feature-store parts
 * when the store was computed in as many shards, else every file's rows of its customers), their quality
 * counts, flags and forecast target (against the last date of the whole store), and their labelled
 * snapshots in canonical order, staged for the merge. Nothing under `master/<hash>/` is written.
 */
export async function runBuildShard(
  options: BuildShardOptions & { readonly index: number; readonly count: number },
): Promise<StageResult> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const paramsFile = options.paramsFile ?? DEFAULT_PARAMS_FILE;
  const params: BuildParams = loadParams(paramsFile, BuildParamsSchema);
  const { index, count } = options;
  const partitions = storePartitions(layout, params);
  const dataEnd = partitions[partitions.length - 1]!.date;
  const stored = readContract(layout.featureManifest, FeatureStoreManifestSchema, null);
  const aligned =
    stored?.shards === count && partitions.every((p) => p.files.every((f) => (partShard(f)?.index ?? count) < count));
  const own = partitions.map((p) => ({
    ...p,
    files: p.files.filter((f) => !aligned || partShard(f)!.index === index),
  }));
  const read = await readFeatureStore(layout, own);
  const input = aligned ? read.frame : ownRows(read.frame, index, count);
  log(
    `read ${input.length} feature rows of shard ${index}/${count} from ${read.inputs.length} file(s)${aligned ? '' : ' (every file: the store is not split the same way)'}`,
  );
  const asOf = asOfOf(options.asOf, params);
  const quality = suitePartial(input, defaultSuite(params.quality, asOf));
  const labelled = labelSnapshots(input, params, (step) => log(step), dataEnd);
  const stats: ShardStats = {
    version: 1,
    shard: { index, count },
    run: runKey(params, asOf),
    quality,
    rows_in: labelled.rowsIn,
    flag: labelled.flag,
    target: labelled.target,
    rows_out: labelled.features.length,
    inputs: read.inputs,
  };
  // The shard's folder is replaced whole: a rerun replaces exactly its staged results.
  const staged = assembleMaster(
    labelled.features,
    labelled.y,
    new Uint8Array(labelled.features.length),
    new Int32Array(labelled.features.length).fill(-1),
  );
  await writeDirAtomic(buildShardDir(layout, index, count), async (tmp) => {
    await writeParquetBatches(path.join(tmp, 'rows.parquet'), masterChunks(staged, CHUNK_ROWS));
    writeJsonAtomic(path.join(tmp, 'stats.json'), stats);
  });
  log(`staged ${labelled.features.length} labelled snapshots of ${labelled.rowsIn} transactions`);
  return {
    rowsIn: labelled.rowsIn,
    rowsOut: labelled.features.length,
    unitOut: 'snapshots',
    summary: { shard: `${index}/${count}`, snapshots: labelled.features.length },
  };
}

/**
 * After every build shard: the quality report from the shards' counts (the build stops on a failed
 * `error` expectation, as in one process), the labelled snapshots of every shard in canonical order,
 * and then the same steps as one process (splits and folds, selection, leakage, master table, its
 * content hash and profile), so `master/<hash>/` is the one a single process writes for the same
 * feature store. Refuses while a shard is missing or ran with other params or on another store.
 */
export async function mergeBuild(options: BuildShardOptions & { readonly shards: number }): Promise<StageResult> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const paramsFile = options.paramsFile ?? DEFAULT_PARAMS_FILE;
  const params: BuildParams = loadParams(paramsFile, BuildParamsSchema);
  const n = options.shards;
  const asOf = asOfOf(options.asOf, params);
  const partitions = storePartitions(layout, params);
  const shards = Array.from({ length: n }, (_, i) => {
    const dir = buildShardDir(layout, i, n);
    const file = path.join(dir, 'stats.json');
    if (!fs.existsSync(file))
      throw new Error(
        `shard ${i} of ${n} has not run (no ${path.relative(layout.root, file)}): run build --shard ${i}/${n}`,
      );
    return { dir, stats: readJson<ShardStats>(file) };
  });
  const key = runKey(params, asOf);
  shards.forEach(({ stats }, i) => {
    if (stats.run !== key)
      throw new Error(`shard ${i} of ${n} ran with other params or another --as-of: run build --shard ${i}/${n}`);
  });
  // Every feature-store file was read by the shards (by one when the store is split the same way).
  const read = new Set(shards.flatMap(({ stats }) => stats.inputs.map((x) => x.file)));
  const now = partitions.flatMap((p) => p.files.map((f) => path.relative(layout.root, f)));
  const unread = now.filter((f) => !read.has(f));
  if (unread.length > 0 || read.size !== now.length)
    throw new Error(
      `the shards read another feature store than the one now in place (${unread[0] ?? 'files gone'}${unread.length > 1 ? ` and ${unread.length - 1} more` : ''}): run every build shard again`,
    );

  const quality = suiteReport(
    defaultSuite(params.quality, asOf),
    shards.map(({ stats }) => stats.quality),
  );
  if (!quality.success) {
    const error = new BuildError(qualityFailureMessage(quality), quality);
    writeBuildFailure(layout, error);
    throw error;
  }
  const staged = await readFeatureStore(
    layout,
    shards.map(({ dir }) => ({ date: '', dir, files: [path.join(dir, 'rows.parquet')] })),
  );
  log(`read ${staged.frame.length} labelled snapshots from ${n} shards`);
  const labelled = mergeLabelled(
    staged.frame,
    shards.map(({ stats }) => stats),
  );
  let out;
  try {
    out = finishMaster(labelled, quality, params, { asOf, onStep: (step) => log(step) });
  } catch (error) {
    if (error instanceof BuildError && (error.quality || error.leakage)) writeBuildFailure(layout, error);
    throw error;
  }
  // The manifest lists the feature-store files as one process reads them: by date, then file name.
  const inputs = shards
    .flatMap(({ stats }) => stats.inputs)
    .sort((a, b) => (a.date !== b.date ? (a.date < b.date ? -1 : 1) : a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const result = await writeBuild(out, { layout, params, paramsFile, asOf, inputs, log });
  fs.rmSync(layout.masterShards, { recursive: true, force: true });
  return result;
}

/** The shards' labelled snapshots as one process labels them: in canonical order, counts added up. */
function mergeLabelled(frame: Frame, stats: readonly ShardStats[]): LabelledSnapshots {
  const order = canonicalOrder(frame, () => true);
  const rows = reorderInPlace(frame, order);
  const target = column(rows, TARGET);
  if (!(target instanceof BooleanColumn)) throw new Error(`staged rows: ${TARGET} is not a boolean column`);
  const y = Int8Array.from(target.values, (v) => (v === 1 ? 1 : 0));
  // The staged rows carry the master's extra columns; the steps after labelling add their own.
  const features: Frame = {
    length: rows.length,
    columns: Object.fromEntries(
      Object.entries(rows.columns).filter(([name]) => ![TARGET, 'group', 'split', 'fold'].includes(name)),
    ),
  };
  const sum = (f: (s: ShardStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  const first = stats[0]!;
  return {
    features,
    y,
    rowsIn: sum((s) => s.rows_in),
    flag: {
      flagged: sum((s) => s.flag.flagged),
      not_flagged: sum((s) => s.flag.not_flagged),
      excluded: {
        total: sum((s) => s.flag.excluded.total),
        missing_ratio: sum((s) => s.flag.excluded.missing_ratio),
        no_credit_limit: sum((s) => s.flag.excluded.no_credit_limit),
      },
      positives_rounded_rule: sum((s) => s.flag.positives_rounded_rule),
    },
    target: {
      horizon_days: first.target.horizon_days,
      snapshots: sum((s) => s.target.snapshots),
      censored: sum((s) => s.target.censored),
      data_end: first.target.data_end,
    },
  };
}

/** The rows of `frame` whose customer hashes to shard `index` of `count`. */
function ownRows(frame: Frame, index: number, count: number): Frame {
  const key = column(frame, 'customer_key');
  const keep: number[] = [];
  for (let i = 0; i < frame.length; i++) if (shardOf(String(key.get(i)), count) === index) keep.push(i);
  return keep.length === frame.length ? frame : takeRows(frame, keep);
}

/** The feature store's partitions, after checking the flag rule it was computed with. */
function storePartitions(layout: DataLayout, params: BuildParams) {
  const partitions = featureStorePartitions(layout);
  checkFlagRule(params.target, readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params);
  return partitions;
}

/** The freshness reference date: the option, else params `quality.freshness.as_of`, else today (UTC). */
function asOfOf(option: string | undefined, params: BuildParams): string {
  return option ?? params.quality.freshness.as_of ?? new Date().toISOString().slice(0, 10);
}

function runKey(params: BuildParams, asOf: string): string {
  return sha256(canonicalJson({ params, asOf, splits: SPLITS }));
}
