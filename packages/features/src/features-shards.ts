import fs from 'node:fs';
import path from 'node:path';
import {
  SnapshotFile,
  cleanTemporaries,
  listPartitions,
  listShardDirs,
  partShard,
  readJson,
  removeStaleParts,
  sha256,
  shardPartName,
  shardTag,
  stageFileAtomic,
  writeJsonAtomic,
  type SnapshotEntry,
  type DataLayout,
  type DatePartition,
} from '@bolsillo/core';
import { partitionHash, recordedLakeHashes } from './features-plan';
import type { FeatureStoreManifest, ShardOfBatch } from './pipeline';

/** Where a run keeps its manifest and its customers' states: the store's own files, or a shard's. */
export interface FeatureRunFiles {
  readonly manifest: string;
  /** The online store file (whole run), or the shard's customers' states in the same format. */
  readonly online: string;
}

/** The manifest and online-store files of the whole run, or of shard i of N (`feature-store/shards/<i>-of-<N>/`). */
export function featureRunFiles(layout: DataLayout, shard?: ShardOfBatch): FeatureRunFiles {
  if (!shard) return { manifest: layout.featureManifest, online: layout.onlineSnapshot };
  const tag = shardTag(shard.index, shard.count);
  return { manifest: layout.featureShardManifest(tag), online: layout.featureShardStates(tag) };
}

/**
 * The lake partitions a run reads. Shard i of a lake ingested in as many shards reads only its own parts
 * (`part-<i>`, `landing-<i>`; none on a date where it has no customer); of any other lake it reads every
 * file and keeps its customers' rows (`shardOrder`).
 */
export function lakeForRun(layout: DataLayout, shard?: ShardOfBatch): { lake: DatePartition[]; aligned: boolean } {
  const lake = listPartitions(layout.lake);
  if (!shard) return { lake, aligned: false };
  const ingested = readJson<{ shards?: number } | null>(layout.ingestManifest, null);
  const aligned =
    ingested?.shards === shard.count &&
    lake.every((p) =>
      p.files.every((f) => {
        const s = partShard(f);
        return s !== null && (s.prefix === 'part' || s.prefix === 'landing') && s.index < shard.count;
      }),
    );
  if (!aligned) return { lake, aligned };
  return {
    lake: lake.map((p) => ({ ...p, files: p.files.filter((f) => partShard(f)!.index === shard.index) })),
    aligned,
  };
}

/** Options of {@link mergeFeatures}. */
export interface MergeFeaturesOptions {
  readonly layout: DataLayout;
  readonly shards: number;
  readonly log?: (message: string) => void;
  readonly now?: () => Date;
}

/**
 * After every features shard: the store's manifest and online store file from the shards'. Each shard
 * must have computed from the lake as it is now (its recorded inputs are checked against the lake's
 * files), with the same params, and every part it recorded must be on disk. The online store is the
 * union of the shards' customer states (disjoint by construction), keys sorted: the same file one process
 * writes, streamed from the shards' files (memory does not grow with the customers). The manifest's
 * inputs are the whole partitions' hashes, as one process records them, so a later run in one process
 * continues incrementally. Parts and states of shards beyond the count are removed.
 */
export function mergeFeatures(options: MergeFeaturesOptions): { customers: number; partitions: number } {
  const { layout, shards: n } = options;
  const log = options.log ?? (() => undefined);
  const manifests = Array.from({ length: n }, (_, i) => {
    const files = featureRunFiles(layout, { index: i, count: n });
    if (!fs.existsSync(files.manifest))
      throw new Error(
        `shard ${i} of ${n} has not run (no ${path.relative(layout.root, files.manifest)}): run features --shard ${i}/${n}`,
      );
    return { files, manifest: readJson<FeatureStoreManifest>(files.manifest) };
  });
  const first = manifests[0]!.manifest;
  // Each lake file's sha256 as ingest recorded it (files it does not record, landed rows, are read).
  const recorded = recordedLakeHashes(layout);
  const hashesOf = (p: DatePartition) => p.files.map((f) => recorded?.(p.date, f) ?? sha256(fs.readFileSync(f)));
  const lakeNow = listPartitions(layout.lake);
  manifests.forEach(({ manifest: m }, i) => {
    if (m.config_hash !== first.config_hash || m.as_of !== first.as_of)
      throw new Error(
        `shard ${i} of ${n} ran with other params or on another lake than shard 0: run every shard again`,
      );
    const { lake } = lakeForRun(layout, { index: i, count: n });
    const expected = Object.fromEntries(lake.map((p) => [p.date, partitionHash(p, hashesOf(p))]));
    if (JSON.stringify(sortedByKey(m.inputs)) !== JSON.stringify(sortedByKey(expected)))
      throw new Error(
        `shard ${i} of ${n} computed from another lake than the one now in place: run features --shard ${i}/${n}`,
      );
    const empty = new Set(m.empty_dates ?? []);
    const missing = lake.filter(
      (p) => !empty.has(p.date) && !fs.existsSync(path.join(layout.featureStore, `date=${p.date}`, shardPartName(i))),
    );
    if (missing.length > 0)
      throw new Error(
        `shard ${i} of ${n}: date=${missing[0]!.date}/${shardPartName(i)} is missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}: run features --shard ${i}/${n}`,
      );
  });

  // Leftovers of a killed writer first: the online store below is staged under a temporary name there.
  cleanTemporaries(path.dirname(layout.featureStore));
  let customers = 0;
  const online = stageFileAtomic(layout.onlineSnapshot, (write) => {
    customers = writeMergedStates(
      manifests.map(({ files }) => files.online),
      first.as_of!,
      write,
    );
  });
  try {
    removeStaleParts(layout.featureStore, n, ['part']);
    for (const s of listShardDirs(layout.featureShards))
      if (s.count !== n) fs.rmSync(s.dir, { recursive: true, force: true });
  } catch (error) {
    online.discard();
    throw error;
  }
  online.commit();
  const manifest: FeatureStoreManifest = {
    version: 1,
    config_hash: first.config_hash,
    ...(first.params ? { params: first.params } : {}),
    inputs: Object.fromEntries(lakeNow.map((p) => [p.date, partitionHash(p, hashesOf(p))])),
    as_of: first.as_of,
    updated_at: (options.now ?? (() => new Date()))().toISOString(),
    shards: n,
  };
  writeJsonAtomic(layout.featureManifest, manifest);
  log(`merged ${n} shards: ${customers} customers, ${lakeNow.length} partitions`);
  return { customers, partitions: lakeNow.length };
}

/**
 * The online store from the shards' states files: a k-way merge by key, one customer of each shard in
 * memory at a time (each shard's file holds its customers with keys sorted, as `onlineStoreText`
 * writes them), written as `JSON.stringify` writes the whole store, the bytes one process writes.
 * Returns the number of customers.
 */
function writeMergedStates(files: readonly string[], asOf: string, write: (piece: string) => void): number {
  const shards = files.map((file, i) => {
    const reader = SnapshotFile.open(file);
    if (reader === null)
      throw new Error(`shard ${i} of ${files.length}: ${file} is missing: run features --shard ${i}/${files.length}`);
    return { reader, entries: reader.customers(), head: null as SnapshotEntry | null };
  });
  try {
    const advance = (i: number) => {
      const shard = shards[i]!;
      const previous = shard.head;
      const next = shard.entries.next();
      shard.head = next.done ? null : next.value;
      if (previous !== null && shard.head !== null && !(previous.key < shard.head.key))
        throw new Error(
          `shard ${i} of ${files.length}: customer states not sorted by key at ${shard.head.key.slice(0, 12)}…: run features --shard ${i}/${files.length}`,
        );
    };
    shards.forEach((_, i) => advance(i));
    const params = shards[0]!.reader.fieldsRead.params;
    if (params === undefined)
      throw new Error(`${files[0]}: not an online feature store (no params before its customers)`);
    write(`{"params":${JSON.stringify(params)},"as_of":${JSON.stringify(asOf)},"customers":{`);
    let customers = 0;
    for (;;) {
      let min = -1;
      for (let i = 0; i < shards.length; i++) {
        const key = shards[i]!.head?.key;
        if (key === undefined) continue;
        const least = min < 0 ? undefined : shards[min]!.head!.key;
        if (least === key) throw new Error(`customer ${key.slice(0, 12)}… is in two shards (${min} and ${i})`);
        if (least === undefined || key < least) min = i;
      }
      if (min < 0) break;
      const { key, state } = shards[min]!.head!;
      write(`${customers === 0 ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(state)}`);
      customers += 1;
      advance(min);
    }
    write('}}\n');
    // Each shard's file read to its end: checked whole.
    shards.forEach(({ reader }) => reader.summary());
    return customers;
  } finally {
    for (const { reader } of shards) reader.close();
  }
}

function sortedByKey<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]!]),
  );
}
