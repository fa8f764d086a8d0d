import fs from 'node:fs';
import path from 'node:path';
import {
  canonicalJson,
  cleanTemporaries,
  dataLayout,
  listShardDirs,
  loadParams,
  readJson,
  removeStaleParts,
  sha256,
  shardPartName,
  shardTag,
  writeJsonAtomic,
  type DataLayout,
  type StageResult,
} from '@bolsillo/core';
import type { IngestManifest, ManifestFile, PartitionRecord } from './lake';
import { DEFAULT_K_ANONYMITY, DEFAULT_PARAMS_FILE, IngestParamsSchema } from './params';
import { addKAnonymityGroups, kAnonymityFromGroups } from './parse-file';

/** Shard i of N's folder: its manifest (its customers' rows and parts only) and landing state. */
export function shardLakeDir(layout: DataLayout, index: number, count: number): string {
  return path.dirname(layout.lakeShardManifest(shardTag(index, count)));
}

/** Options of {@link mergeIngest}. */
export interface MergeIngestOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly paramsFile?: string;
  readonly log?: (message: string) => void;
}

/**
 * After every ingest shard: the lake manifest from the shards' manifests. Source files and their
 * whole-file figures (rows read, quarantine, duplicates) are the same in every shard and must agree;
 * valid rows, rows per date and k-anonymity group counts are added up (the shards' customers are
 * disjoint, so the sums are exact); each partition lists its parts with their hashes, and the content
 * hash is over them. Refuses while a shard is missing or disagrees, naming it; removes the parts and
 * states of shards beyond the count (an earlier run with more shards).
 */
export function mergeIngest(options: MergeIngestOptions): StageResult {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const n = options.shards;
  const params = loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, IngestParamsSchema);
  const shards = Array.from({ length: n }, (_, i) => {
    const file = layout.lakeShardManifest(shardTag(i, n));
    if (!fs.existsSync(file))
      throw new Error(
        `shard ${i} of ${n} has not run (no ${path.relative(layout.root, file)}): run ingest --shard ${i}/${n}`,
      );
    return readJson<IngestManifest>(file);
  });
  const first = shards[0]!;
  shards.forEach((s, i) => {
    const disagree = (what: string) =>
      new Error(
        `shard ${i} of ${n} saw other ${what} than shard 0 (the raw folder changed between shard runs?): run every shard again`,
      );
    if (s.secret_fingerprint !== first.secret_fingerprint) throw disagree('a pseudonymisation secret');
    if (canonicalJson(fileIdentity(s)) !== canonicalJson(fileIdentity(first))) throw disagree('source files');
  });
  checkPartsOnDisk(layout, shards);

  const files: Record<string, ManifestFile> = {};
  for (const [f, base] of Object.entries(first.files)) {
    const partitions: Record<string, number> = {};
    let rowsOut = 0;
    for (const s of shards) {
      const mine = s.files[f]!;
      rowsOut += mine.rows_out;
      for (const [d, c] of Object.entries(mine.partitions)) partitions[d] = (partitions[d] ?? 0) + c;
    }
    files[f] = { ...base, rows_out: rowsOut, partitions: sortedByKey(partitions) };
  }
  const byDate = new Map<string, Record<string, { rows: number; sha256: string }>>();
  shards.forEach((s, i) => {
    for (const [d, p] of Object.entries(s.partitions)) {
      const parts = byDate.get(d) ?? {};
      parts[shardPartName(i)] = { rows: p.rows, sha256: p.sha256 };
      byDate.set(d, parts);
    }
  });
  const partitions: Record<string, PartitionRecord> = {};
  for (const d of [...byDate.keys()].sort()) {
    const parts = byDate.get(d)!;
    const names = Object.keys(parts).sort((a, b) => partIndex(a) - partIndex(b));
    partitions[d] = {
      rows: names.reduce((sum, name) => sum + parts[name]!.rows, 0),
      sha256: sha256(names.map((name) => `${name}:${parts[name]!.sha256}`).join('\n')),
      parts: Object.fromEntries(names.map((name) => [name, parts[name]!])),
    };
  }
  const k = params.k_anonymity ?? DEFAULT_K_ANONYMITY;
  const kAnonymity = kAnonymityFromGroups(
    addKAnonymityGroups(shards.map((s) => s.k_anonymity_groups ?? [])),
    k.quasi_identifier_sets,
    k.min_k,
  );
  const merged: IngestManifest = {
    version: 1,
    files: sortedByKey(files),
    partitions,
    content_hash: sha256(canonicalJson(partitions)),
    ...(first.secret_fingerprint ? { secret_fingerprint: first.secret_fingerprint } : {}),
    ...(first.rejected ? { rejected: first.rejected } : {}),
    k_anonymity: kAnonymity,
    shards: n,
  };

  // Parts and states of shards this count does not have are an earlier run's: the lake is this run's parts.
  const removed = removeStaleParts(layout.lake, n, ['part', 'landing']);
  for (const s of listShardDirs(layout.lakeShards))
    if (s.count !== n) fs.rmSync(s.dir, { recursive: true, force: true });
  fs.rmSync(layout.landingState, { force: true });
  cleanTemporaries(path.dirname(layout.lake));
  writeJsonAtomic(layout.ingestManifest, merged);

  const rowsIn = Object.values(files).reduce((sum, f) => sum + f.rows_in, 0);
  const rowsOut = Object.values(partitions).reduce((sum, p) => sum + p.rows, 0);
  for (const s of kAnonymity.sets.filter((x) => !x.ok))
    log(
      `WARNING: k-anonymity ${s.k} over (${s.quasi_identifiers.join(', ')}) is below the minimum ${kAnonymity.min_k}: ` +
        `${s.customers_below} of ${s.customers} customers are in ${s.groups_below} group(s) smaller than ${kAnonymity.min_k}`,
    );
  log(
    `merged ${n} shards: ${Object.keys(files).length} file(s), rows in ${rowsIn}, out ${rowsOut}, ${Object.keys(partitions).length} partitions` +
      `${removed ? `, ${removed} part file(s) of an earlier shard count removed` : ''}; content hash ${merged.content_hash.slice(0, 16)}`,
  );
  return {
    rowsIn,
    rowsOut,
    summary: {
      shards: n,
      files: Object.keys(files).length,
      rows_in: rowsIn,
      rows_out: rowsOut,
      quarantined: Object.values(files).reduce((sum, f) => sum + f.quarantined, 0),
      customer_keys: kAnonymity.sets[0]?.customers ?? 0,
      k_anonymity: kAnonymity,
      partitions_total: Object.keys(partitions).length,
      content_hash: merged.content_hash,
    },
  };
}

/** What every shard must agree on: the files (whole-file figures) and the files rejected whole. */
export function fileIdentity(m: IngestManifest): unknown {
  return {
    files: Object.fromEntries(
      Object.entries(m.files).map(([f, x]) => [
        f,
        { sha256: x.sha256, bytes: x.bytes, rows_in: x.rows_in, quarantined: x.quarantined, duplicates: x.duplicates },
      ]),
    ),
    rejected: m.rejected ?? {},
  };
}

/** Every part a shard's manifest records is on disk, and no date folder holds a part of a shard that does not record it. */
function checkPartsOnDisk(layout: DataLayout, shards: readonly IngestManifest[]): void {
  const problems: string[] = [];
  shards.forEach((s, i) => {
    for (const d of Object.keys(s.partitions))
      if (!fs.existsSync(path.join(layout.lake, `date=${d}`, shardPartName(i))))
        problems.push(`date=${d}/${shardPartName(i)} is missing`);
  });
  if (fs.existsSync(layout.lake)) {
    for (const entry of fs.readdirSync(layout.lake)) {
      const m = /^date=(.+)$/.exec(entry);
      if (!m) continue;
      shards.forEach((s, i) => {
        if (!(m[1]! in s.partitions) && fs.existsSync(path.join(layout.lake, entry, shardPartName(i))))
          problems.push(`${entry}/${shardPartName(i)} is not in shard ${i}'s manifest`);
      });
    }
  }
  if (problems.length > 0)
    throw new Error(
      `the lake's parts do not match the shards' manifests (${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; ${problems.length - 5} more` : ''}): run those shards again`,
    );
}

function partIndex(name: string): number {
  return Number(/-(\d+)\.parquet$/.exec(name)?.[1] ?? 0);
}

function sortedByKey<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]!]),
  );
}
