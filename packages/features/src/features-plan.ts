import fs from 'node:fs';
import path from 'node:path';
import {
  canonicalJson,
  listPartitions,
  shardPartName,
  readJson,
  readOnlineStore,
  sha256,
  type DataLayout,
  type DatePartition,
  type FeatureParams,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { FEATURE_DECLARATIONS } from '@bolsillo/schema';
import { featureRunFiles, lakeForRun, type FeatureRunFiles } from './features-shards';
import { planIncremental, type FeatureStoreManifest, type IncrementalPlan, type ShardOfBatch } from './pipeline';

/** Hash identifying the configuration: params plus the feature declarations (any change recomputes all). */
export function configHash(params: FeatureParams): string {
  return sha256(canonicalJson({ params, declarations: FEATURE_DECLARATIONS }));
}

/** What a features run will do, decided before any partition is read. */
export interface FeaturesRunPlan extends IncrementalPlan {
  /** The lake's date partitions, in date order (a shard's: only its own parts when the lake is split the same way). */
  readonly lake: readonly DatePartition[];
  /** A shard's lake is split the same way (ingested in as many shards or parts): it reads only its own parts. */
  readonly aligned: boolean;
  /** Shard i of N (its customers only, its own part files, manifest and states), or the whole store. */
  readonly shard?: ShardOfBatch;
  /** Where this run's manifest and customer states live. */
  readonly files: FeatureRunFiles;
  readonly configHash: string;
  readonly previous: FeatureStoreManifest | null;
  /** The online store file (null with `full` or when there is none). */
  readonly online: OnlineStoreSnapshot | null;
  /**
   * Lake partition date → hash of its files (what the manifest records). With {@link hashWhileReading}
   * the values are '' until the Parquet threads hash the partitions as they read them.
   */
  readonly inputs: Record<string, string>;
  /**
   * Every partition is recomputed (no previous run, or other params): the Parquet threads hash the lake
   * files from the bytes they read for the run, instead of the main thread reading all of them once more
   * before the run starts.
   */
  readonly hashWhileReading: boolean;
  /** Nothing to recompute and the online store is current. */
  readonly nothingToDo: boolean;
  /** Customer states just before `from` come from the online store (a pure append), not from replaying history. */
  readonly resumable: boolean;
  /** Partitions read only to rebuild the customer states before `from`. */
  readonly replay: readonly DatePartition[];
  /** Partitions whose features are recomputed (date ≥ `from`). */
  readonly todo: readonly DatePartition[];
}

/**
 * Plan a run from the lake, the previous manifest and the online store ({@link planIncremental}). A lake
 * partition whose bytes differ from what ingest recorded is refused before it is read.
 */
export function planFeaturesRun(
  layout: DataLayout,
  params: FeatureParams,
  full: boolean,
  shard?: ShardOfBatch,
): FeaturesRunPlan {
  const { lake, aligned } = lakeForRun(layout, shard);
  if (lake.length === 0) throw new Error(`no lake partitions under ${layout.lake} (run ingest first)`);
  const files = featureRunFiles(layout, shard);
  const previous = full || !fs.existsSync(files.manifest) ? null : readJson<FeatureStoreManifest>(files.manifest);
  const hash = configHash(params);
  const hashWhileReading = previous === null || previous.config_hash !== hash;
  const inputs: Record<string, string> = Object.fromEntries(
    lake.map((p) => [p.date, hashWhileReading ? '' : partitionHash(p)]),
  );
  const online = full ? null : readOnlineStore(files.online);
  // A shard's output of a date is its own part, or nothing when it had no rows that day.
  const existing = new Set(
    listPartitions(layout.featureStore)
      .filter((p) =>
        shard ? p.files.some((f) => path.basename(f) === shardPartName(shard.index)) : p.files.length > 0,
      )
      .map((p) => p.date),
  );
  for (const d of previous?.empty_dates ?? []) existing.add(d);
  if (!hashWhileReading) refuseCorrupt(layout, lake, inputs);
  let plan = planIncremental(previous, inputs, hash, existing);
  // The online store must reflect the current lake even when no feature partition changes.
  const nothingToDo = plan.from === null && plan.removed.length === 0 && online !== null;
  if (plan.from === null && !nothingToDo) plan = { ...plan, reason: `${plan.reason}; online store rebuilt` };
  const from = plan.from;
  const resumable =
    from !== null &&
    online !== null &&
    previous !== null &&
    plan.removed.length === 0 &&
    online.as_of < from &&
    canonicalJson(online.params) === canonicalJson(params);
  return {
    ...plan,
    lake,
    aligned,
    ...(shard ? { shard } : {}),
    files,
    configHash: hash,
    previous,
    online,
    inputs,
    hashWhileReading,
    nothingToDo,
    resumable,
    replay: resumable ? [] : lake.filter((p) => from === null || p.date < from),
    todo: from === null ? [] : lake.filter((p) => p.date >= from),
  };
}

/** A lake partition's input hash: its file names and the sha256 of each file's bytes (read here unless given). */
export function partitionHash(
  p: DatePartition,
  fileSha256: readonly string[] = p.files.map((f) => sha256(fs.readFileSync(f))),
): string {
  return sha256(p.files.map((f, i) => `${path.basename(f)}:${fileSha256[i]}`).join('\n'));
}

/**
 * Throw when a lake partition's bytes are not the ones ingest wrote (its sha256 in lake/manifest.json):
 * a flipped byte can decode to plausible values (one more customer) instead of failing. Partitions not
 * hashed yet ('') are skipped.
 */
export function refuseCorrupt(
  layout: DataLayout,
  lake: readonly DatePartition[],
  inputs: Readonly<Record<string, string>>,
): void {
  const recorded = recordedLakeHashes(layout);
  if (!recorded) return;
  const corrupt = lake.filter((p) => {
    if (p.files.length === 0 || !inputs[p.date]) return false;
    const shas = p.files.map((f) => recorded(p.date, f));
    if (shas.some((x) => x === undefined)) return false;
    return inputs[p.date] !== partitionHash(p, shas as string[]);
  });
  if (corrupt.length > 0) {
    throw new Error(
      `lake partition(s) ${corrupt.map((p) => p.files.join(', ')).join(', ')} do not match the sha256 ingest recorded in ${layout.ingestManifest} ` +
        '(corrupt, or changed outside ingest); nothing was written to the online store or the manifest. Rebuild the lake: ingest --backfill.',
    );
  }
}

/**
 * The sha256 ingest recorded for a lake file (date, file path): each part of a sharded lake, or the one
 * `part-0.parquet` of a lake written in one process; undefined for files it does not record (landed rows).
 * Null without a lake manifest.
 */
export function recordedLakeHashes(layout: DataLayout): ((date: string, file: string) => string | undefined) | null {
  const recorded = readJson<{
    partitions?: Record<string, { sha256: string; parts?: Record<string, { sha256: string }> }>;
  } | null>(layout.ingestManifest, null)?.partitions;
  if (!recorded) return null;
  return (date, file) => {
    const r = recorded[date];
    const name = path.basename(file);
    return r?.parts ? r.parts[name]?.sha256 : name === shardPartName(0) ? r?.sha256 : undefined;
  };
}
