import fs from 'node:fs';
import path from 'node:path';
import {
  partShard,
  partitionDir,
  writeFileAtomic,
  writeJsonAtomic,
  type CustomerState,
  type DataLayout,
  type FeatureParams,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { refuseCorrupt, type FeaturesRunPlan } from './features-plan';
import type { CustomerStates, FeatureStoreManifest } from './pipeline';

/**
 * The online store file's text: every customer's state after its latest transaction, keys sorted (a
 * shard's states file too: the merge streams the shards' files in key order).
 */
export function onlineStoreText(states: CustomerStates, params: FeatureParams, asOf: string): string {
  const customers: Record<string, CustomerState> = {};
  for (const key of [...states.keys()].sort()) customers[key] = states.get(key)!.toState();
  const store: OnlineStoreSnapshot = { params, as_of: asOf, customers };
  // Compact JSON: the API loads this at start-up and it grows with the number of customers.
  return `${JSON.stringify(store)}\n`;
}

/** The date of the lake's last partition: what the online store and the manifest are as of. */
export function lakeAsOf(run: FeaturesRunPlan): string {
  return run.lake[run.lake.length - 1]!.date;
}

/**
 * Finish a run once every feature partition is written: refuse a lake partition hashed while read that
 * is not what ingest wrote, then write the online store file and, last, the manifest (so a failure before
 * it leaves the old manifest and the next run redoes the work). A shard writes its own states and
 * manifest (with the dates where it has no rows); the whole run removes the parts and states shards left
 * in the dates it rewrote.
 */
export function commitFeatureRun(
  layout: DataLayout,
  run: FeaturesRunPlan,
  params: FeatureParams,
  onlineText: string,
  updatedAt: Date,
  emptyDates: ReadonlySet<string> = new Set(),
): void {
  if (run.hashWhileReading) refuseCorrupt(layout, run.lake, run.inputs);
  if (!run.shard)
    removeShardParts(
      layout,
      run.todo.map((p) => p.date),
    );
  writeFileAtomic(run.files.online, onlineText);
  const unhashed = Object.keys(run.inputs).filter((d) => run.inputs[d] === '');
  if (unhashed.length > 0)
    throw new Error(`features: lake partitions left unhashed (${unhashed.join(', ')}); the manifest is not written`);
  const manifest: FeatureStoreManifest = {
    version: 1,
    config_hash: run.configHash,
    params,
    inputs: run.inputs,
    as_of: lakeAsOf(run),
    updated_at: updatedAt.toISOString(),
    ...(run.shard ? { empty_dates: run.lake.map((p) => p.date).filter((d) => emptyDates.has(d)) } : {}),
  };
  writeJsonAtomic(run.files.manifest, manifest);
}

/**
 * One process owns the store: in the dates it rewrote, parts of shards (`part-<j>`, j ≥ 1) go, and the
 * shards' states, which no longer describe the store.
 */
function removeShardParts(layout: DataLayout, dates: readonly string[]): void {
  for (const d of dates) {
    const dir = partitionDir(layout.featureStore, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir))
      if ((partShard(f)?.index ?? 0) > 0) fs.rmSync(path.join(dir, f), { force: true });
  }
  fs.rmSync(layout.featureShards, { recursive: true, force: true });
}
