import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  forEachParquetBatch,
  loadParams,
  parquetContinuation,
  parquetFileSet,
  partShard,
  readContract,
  readJson,
  memoryNote,
  readParquetColumnNames,
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
import {
  FEATURE_NAMES,
  FeatureStoreManifestSchema,
  SPLITS,
  TARGET,
  type MasterManifest,
  type Profile,
} from '@bolsillo/schema';
import type { Table } from 'apache-arrow';
import {
  BuildError,
  checkModelFeatures,
  labelSnapshots,
  profileKinds,
  targetSummary,
  trainSample,
  type BuildReports,
  type LabelledSnapshots,
} from './build';
import { column, frameFromTable, gatherRows, StringColumn, takeRows, type Column, type Frame } from './frame';
import {
  featureLeakage,
  identicalAcrossSplits,
  leakageVerdict,
  type FeatureLeakage,
  type LeakageReport,
} from './leakage';
import { assembleMaster, ContentHasher } from './master';
import { BuildParamsSchema, type BuildParams } from './params';
import { appendFinite, CategoryCounts, profileFinite } from './profile';
import {
  defaultSuite,
  qualityFailureMessage,
  suitePartial,
  suiteReport,
  type QualityReport,
  type SuitePartial,
} from './quality';
import { MASTER_CHUNK_ROWS, MASTER_FILE_ROWS, masterChunks, writeBuildFailure } from './build-outputs';
import { featureStorePartitions, readFeatureStore } from './read-feature-store';
import { RowFingerprints } from './row-hash';
import { selectFeatures, type Selection } from './selection';
import { mergedRows, mergeOrder } from './shard-streams';
import {
  assignSplitsByGroup,
  keepAssignedInPlace,
  rowFolds,
  UNASSIGNED,
  type Coded,
  type Codes,
  type SplitSummary,
} from './splits';
import { DEFAULT_PARAMS_FILE, checkFlagRule, writeBuild } from './run';

/** A feature-store file a build read, as the master manifest lists it. */
type BuildInput = MasterManifest['inputs'][number];

/** Rows per Arrow chunk of a shard's staged rows (as master.parquet) when shards are few. */
const CHUNK_ROWS = 131_072;

/** Staged rows the merge decodes at once across all shards, about: bounds its Parquet readers' memory. */
const MERGE_DECODED_ROWS = 262_144;

/**
 * Rows per row group (and Arrow chunk) of each shard's staged rows in a build of `count` shards
 * (pure). The merge reads every shard at once and parquet-wasm decodes a whole row group of each
 * before handing out its first row, so the groups shrink as shards grow: {@link MERGE_DECODED_ROWS}
 * over all shards, a power of two from 4,096 to {@link CHUNK_ROWS}.
 */
export function stagedRowGroupRows(count: number): number {
  let rows = CHUNK_ROWS;
  while (rows > 4096 && rows * count > MERGE_DECODED_ROWS) rows /= 2;
  return rows;
}

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
  /** Rows per file of the staged rows and the master table; default {@link MASTER_FILE_ROWS}. */
  readonly masterFileRows?: number;
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
  const groupRows = stagedRowGroupRows(count);
  await writeDirAtomic(buildShardDir(layout, index, count), async (tmp) => {
    await writeParquetBatches(path.join(tmp, 'rows.parquet'), masterChunks(staged, groupRows), {
      fileRows: options.masterFileRows ?? MASTER_FILE_ROWS,
      rowGroupRows: groupRows,
    });
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
  // The manifest lists the feature-store files as one process reads them: by date, then file name.
  const inputs = shards
    .flatMap(({ stats }) => stats.inputs)
    .sort((a, b) => (a.date !== b.date ? (a.date < b.date ? -1 : 1) : a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const files = shards.map(({ dir }) => path.join(dir, 'rows.parquet'));
  const fileRows = options.masterFileRows ?? MASTER_FILE_ROWS;
  // master.parquet is written before its folder can be named (by its content hash): here first.
  const staging = path.join(layout.master, `.merge.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  let result;
  try {
    let out;
    try {
      out = await streamMaster(
        files,
        shards.map(({ stats }) => stats),
        quality,
        params,
        { file: path.join(staging, 'master.parquet'), fileRows },
        (step) => log(`${step} (${memoryNote()})`),
      );
    } catch (error) {
      if (error instanceof BuildError && (error.quality || error.leakage)) writeBuildFailure(layout, error);
      throw error;
    }
    result = await writeBuild(out, { layout, params, paramsFile, asOf, inputs, log, fileRows }, async (file) =>
      parquetFileSet(path.join(staging, 'master.parquet')).forEach((from, k) =>
        fs.renameSync(from, k === 0 ? file : parquetContinuation(file, k)),
      ),
    );
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fs.rmSync(layout.masterShards, { recursive: true, force: true });
  return result;
}

/**
 * What the merge holds for every row, in canonical order: a few bytes a row (docs/bench-build.md,
 * "build --merge of 16 shards in fewer bytes a row").
 */
interface MergeKeys {
  /** Shard of each staged row (every staged row, the master table's or not). */
  readonly shard: Uint8Array;
  /** Whether staged row i is in the master table (in a split), i ascending. */
  readonly keep: (i: number) => boolean;
  /** Target and split of each master row. */
  readonly y: Int8Array;
  readonly split: Uint8Array;
  /** CV fold of each customer code (see {@link rowFolds}). */
  readonly groupFold: Int32Array;
  readonly summary: SplitSummary;
  /** Customer and date codes of each master row: null once the steps that read them are done. */
  codes: { readonly customer: Coded; readonly date: Coded<Codes> } | null;
}

/**
 * The canonical order of the shards' rows and their splits: one pass over the shards' key columns.
 * Rows in no split (time gaps, group_time's off-diagonal) leave the master table: the per-row
 * arrays keep the others, compacted in place.
 */
async function mergeKeys(
  files: readonly string[],
  total: number,
  params: BuildParams,
  step: (name: string) => void,
): Promise<MergeKeys> {
  step(`canonical order of ${total} snapshots in ${files.length} shards`);
  const order = await mergeOrder(files, total, TARGET);
  step('splits');
  const horizon = params.target.horizon_days;
  const assigned = assignSplitsByGroup(order.customer, order.date, order.y, params.split, horizon);
  const inSplit = assigned.split;
  const dropped = assigned.summary.unassigned.rows > 0;
  const [split] = keepAssignedInPlace(inSplit, [dropped ? inSplit.slice() : inSplit]);
  const [y] = keepAssignedInPlace(inSplit, [order.y]);
  const [customer] = keepAssignedInPlace(inSplit, [order.customer.codes]);
  const [date] = keepAssignedInPlace(inSplit, [order.date.codes]);
  return {
    shard: order.shard,
    keep: dropped ? (i) => inSplit[i] !== UNASSIGNED : () => true,
    y: y!,
    split: split!,
    groupFold: assigned.groupFold,
    summary: assigned.summary,
    codes: { customer: { codes: customer!, dict: order.customer.dict }, date: { codes: date!, dict: order.date.dict } },
  };
}

/**
 * The rest of the build over the shards' staged snapshots (`files`, each in canonical order), the
 * same steps and results as {@link finishMaster} over all of them at once, in memory that does not
 * grow with the table's width: a few columns of every row ({@link MergeKeys}, row fingerprints
 * while the identical-rows check runs) and every column of the train sample selection reads; the
 * table itself is streamed from the shards, once per step that reads it, and written to `table.file`
 * (`table.fileRows` rows a file).
 */
async function streamMaster(
  files: readonly string[],
  stats: readonly ShardStats[],
  quality: QualityReport,
  params: BuildParams,
  out: { readonly file: string; readonly fileRows: number },
  step: (name: string) => void,
): Promise<BuildReports> {
  const table = out.file;
  const total = stats.reduce((n, s) => n + s.rows_out, 0);
  const keys = await mergeKeys(files, total, params, step);
  const { y, split } = keys;
  const rows = y.length;
  // The staged rows carry the master's extra columns; the steps after labelling add their own.
  const names = (await readParquetColumnNames(files[0]!)).filter(
    (n) => ![TARGET, 'group', 'split', 'fold'].includes(n),
  );
  const target = targetSummary(labelledCounts(stats), params, y, keys.codes!.customer.codes);

  checkModelFeatures(params);
  const { selection, leakage } = await selectAndCheck(files, keys, params, step);
  if (!leakage.passed) throw new BuildError(`leakage check failed: ${leakage.failures.join('; ')}`, quality, leakage);
  // Folds (at most 20) in a byte a row; the master write reads neither customer nor date codes.
  const fold = rowFolds(split, keys.codes!.customer.codes, keys.groupFold, new Int8Array(rows));
  keys.codes = null;

  step('master table, content hash, categories');
  const kinds = profileKinds();
  const categories = new Map(
    Object.entries(kinds)
      .filter(([, kind]) => kind === 'categorical')
      .map(([name]) => [name, new CategoryCounts()]),
  );
  const hasher = new ContentHasher();
  let at = 0;
  async function* masterParts(): AsyncGenerator<Table> {
    for await (const part of mergedRows(files, keys.shard, keys.keep, MASTER_CHUNK_ROWS, names)) {
      const to = at + part.length;
      const folds = Int32Array.from(fold.subarray(at, to));
      const master = assembleMaster(part, y.subarray(at, to), split.subarray(at, to), folds);
      at = to;
      hasher.update(master);
      for (const [name, counts] of categories) counts.add(column(master, name));
      yield* masterChunks(master, MASTER_CHUNK_ROWS);
    }
  }
  await writeParquetBatches(table, masterParts(), { fileRows: out.fileRows });
  const hash = hasher.digest();
  step('profile of the numeric columns');
  const numeric = Object.keys(kinds).filter((name) => kinds[name] === 'numeric');
  const profiles = new Map<string, Profile['columns'][string]>(
    [...categories].map(([name, counts]) => [name, counts.profile()]),
  );
  // As many columns at a time as ~128 MB of values allow (at least one): each is sorted whole.
  const perPass = Math.max(1, Math.floor(16_000_000 / Math.max(1, rows)));
  for (let from = 0; from < numeric.length; from += perPass) {
    const group = numeric.slice(from, from + perPass);
    const values = group.map(() => new Float64Array(rows));
    const ends = group.map(() => 0);
    await forEachParquetBatch(table, { columns: group }, (batch) => {
      const part = frameFromTable(batch);
      group.forEach((name, c) => (ends[c] = appendFinite(column(part, name), values[c]!, ends[c]!)));
    });
    group.forEach((name, c) =>
      profiles.set(name, profileFinite(values[c]!.subarray(0, ends[c]!), rows, params.profile.bins)),
    );
  }
  const profile: Profile = {
    created_from: hash,
    rows,
    columns: Object.fromEntries(Object.keys(kinds).map((name) => [name, profiles.get(name)!])),
  };
  return {
    rows,
    contentHash: hash,
    target,
    quality,
    splits: keys.summary,
    selection,
    leakage,
    profile,
  };
}

/**
 * Feature selection on the train sample and the leakage checks, as {@link finishMaster} runs them:
 * every feature of the sampled train rows is read (and released before the checks over all rows);
 * the checks over all rows read the customer and date codes `keys` holds and the fingerprints of the
 * selected features.
 */
async function selectAndCheck(
  files: readonly string[],
  keys: MergeKeys,
  params: BuildParams,
  step: (name: string) => void,
): Promise<{ selection: Selection; leakage: LeakageReport }> {
  const { split } = keys;
  const { selection, features, aucRows } = await selectOnSample(files, keys, params, step);
  step('leakage');
  const identical = await identicalRows(files, keys, selection.features);
  const ids = identical.examples.length
    ? column(await keptRows(files, keys.shard, keys.keep, Uint32Array.from(identical.examples), ['txn_id']), 'txn_id')
    : null;
  const { customer, date } = keys.codes!;
  const leakage = leakageVerdict(
    {
      split,
      groups: new StringColumn(customer.codes, customer.dict),
      dates: date,
      identical: { rows: identical.rows, examples: identical.examples.map((_, k) => String(ids!.get(k))) },
    },
    features,
    aucRows,
    params.leakage,
    params.split.strategy,
    { horizonDays: params.target.horizon_days },
  );
  return { selection, leakage };
}

/**
 * Selection and the per-feature leakage checks on the train sample: every feature of the sampled
 * train rows is read here, and released on return.
 */
async function selectOnSample(
  files: readonly string[],
  keys: MergeKeys,
  params: BuildParams,
  step: (name: string) => void,
): Promise<{ selection: Selection; features: FeatureLeakage[]; aucRows: LeakageReport['auc_rows'] }> {
  const train = trainSample(keys.split, params);
  step(`selection (reading ${train.rows.length} train rows)`);
  const staged = new Set(await readParquetColumnNames(files[0]!));
  const wanted = [...new Set<string>([...FEATURE_NAMES, 'customer_key'])].filter((n) => staged.has(n));
  const sample = await keptRows(files, keys.shard, keys.keep, train.rows, wanted);
  const ySample = Int8Array.from(train.rows, (k) => keys.y[k]!);
  const sampleRows = Uint32Array.from(train.rows, (_, k) => k);
  const selection = selectFeatures(sample, ySample, sampleRows, params.model_features, params.selection, {
    trainRows: train.total,
    seed: train.seed,
  });
  const features = featureLeakage(
    { frame: sample, y: ySample, rows: sampleRows, total: train.total },
    FEATURE_NAMES,
    selection.features,
    params.leakage,
    { horizonDays: params.target.horizon_days },
  );
  const seed = train.rows.length < train.total ? train.seed : null;
  return { selection, features, aucRows: { rows: train.rows.length, train_rows: train.total, seed } };
}

/**
 * (d) over every master row: the selected features' fingerprints (8 bytes a row, released on
 * return), from one more pass over the shards.
 */
async function identicalRows(
  files: readonly string[],
  keys: MergeKeys,
  features: readonly string[],
): Promise<{ rows: number; examples: number[] }> {
  const fingerprints = new RowFingerprints(features, keys.split.length);
  if (features.length > 0)
    for await (const part of mergedRows(files, keys.shard, keys.keep, MASTER_CHUNK_ROWS, features))
      fingerprints.add(part);
  return identicalAcrossSplits(fingerprints.hi, fingerprints.lo, keys.split);
}

/**
 * Every column in `names` of the kept rows (those `keep` holds for, in canonical order) at
 * positions `at` (ascending) among them, as one frame.
 */
async function keptRows(
  files: readonly string[],
  shard: Uint8Array,
  keep: (i: number) => boolean,
  at: Uint32Array,
  names: readonly string[],
): Promise<Frame> {
  let k = 0;
  let next = 0;
  const wanted = (i: number) => {
    if (!keep(i)) return false;
    const hit = next < at.length && at[next] === k;
    k++;
    if (hit) next++;
    return hit;
  };
  const parts: Frame[] = [];
  for await (const part of mergedRows(files, shard, wanted, MASTER_CHUNK_ROWS, names)) parts.push(part);
  if (parts.length === 1) return parts[0]!;
  const source = new Uint32Array(at.length);
  const row = new Uint32Array(at.length);
  let n = 0;
  parts.forEach((p, s) => {
    for (let r = 0; r < p.length; r++, n++) {
      source[n] = s;
      row[n] = r;
    }
  });
  // One column at a time, each part's copy dropped once joined: the peak is the rows plus one column.
  const columns: Record<string, Column> = {};
  for (const name of names) {
    const one = parts.map((p) => ({ length: p.length, columns: { [name]: column(p, name) } }));
    for (const p of parts) delete (p.columns as Record<string, Column>)[name];
    columns[name] = column(gatherRows(one, source, row, n), name);
  }
  return { length: n, columns };
}

/** The shards' labelling counts added up: one process's counts over all transactions. */
function labelledCounts(stats: readonly ShardStats[]): Pick<LabelledSnapshots, 'rowsIn' | 'flag' | 'target'> {
  const sum = (f: (s: ShardStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  const first = stats[0]!;
  return {
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
