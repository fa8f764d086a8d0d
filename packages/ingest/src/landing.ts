import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  listPartitions,
  partitionDir,
  readJson,
  readParquetFile,
  sha256,
  shardOf,
  shardPartName,
  tableFromRows,
  writeJsonAtomic,
  writeParquetFile,
} from '@bolsillo/core';
import { TransactionSchema, validatorFor, type Transaction } from '@bolsillo/schema';
import { shardLakeDir } from './ingest-shards';
import { LAKE_SCHEMA } from './lake';

const validTransaction = validatorFor(TransactionSchema);

/** The file of each lake partition that holds its landed transactions (next to ingest's `part-0.parquet`); shard i's is `landing-<i>.parquet`. */
export const LANDING_PART = shardPartName(0, 'landing');

/** What {@link ingestLanding} did. */
export interface LandingIngest {
  /** Landing files read (0 when nothing changed since the last run). */
  readonly files: number;
  /** Landed transactions written to the lake. */
  readonly rows: number;
  /** Lines whose transaction id appeared earlier in the landing folder (kept once). */
  readonly duplicates: number;
  /** Landed transactions already in the lake from a source file (same id, e.g. a replayed CSV): kept once. */
  readonly inSourceFiles: number;
  /** Lines that are not valid canonical transactions (left out, named in the log). */
  readonly invalid: number;
  readonly partitions: number;
  readonly unchanged: boolean;
}

/**
 * Bring the landing folder (transactions accepted by `POST /transactions` and the stream consumer,
 * `landing/<writer>/<day>.jsonl`) into the lake, each transaction once: a transaction id seen earlier
 * in the landing folder, or already in the partition's rows from a source file, is not counted again.
 * Landed rows go to `date=D/landing-0.parquet`, rebuilt from the whole landing folder whenever a
 * landing file or the lake's source-file part changed, so the step can be re-run at any time.
 * Shard i keeps the landed transactions of its customers, in `landing-<i>.parquet`, checked against
 * its own `part-<i>.parquet` (every shard reads the whole landing folder, so a transaction id is kept
 * once however the shards split it).
 */
export function ingestLanding(
  dataDir: string,
  log: (message: string) => void,
  shard?: { readonly index: number; readonly count: number },
): LandingIngest {
  const layout = dataLayout(dataDir);
  const sharded = shard !== undefined && shard.count > 1 ? shard : undefined;
  const part = shardPartName(sharded?.index ?? 0);
  const landingPart = shardPartName(sharded?.index ?? 0, 'landing');
  const stateFile = sharded
    ? path.join(shardLakeDir(layout, sharded.index, sharded.count), 'landing.json')
    : path.join(path.dirname(layout.lake), 'landing.json');
  const manifestFile = sharded
    ? path.join(shardLakeDir(layout, sharded.index, sharded.count), 'manifest.json')
    : layout.ingestManifest;
  const files: string[] = [];
  if (fs.existsSync(layout.landing)) {
    for (const writer of fs.readdirSync(layout.landing).sort()) {
      const dir = path.join(layout.landing, writer);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const name of fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .sort())
        files.push(path.join(dir, name));
    }
  }
  const previous = readJson<{ inputs: string; dates: string[] }>(stateFile, { inputs: '', dates: [] });
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  const manifestText = fs.existsSync(manifestFile) ? fs.readFileSync(manifestFile, 'utf8') : '';
  const inputs = sha256(
    [sha256(manifestText), ...files.map((f, i) => `${path.relative(layout.landing, f)}:${sha256(texts[i]!)}`)].join(
      '\n',
    ),
  );
  if (inputs === previous.inputs)
    return { files: 0, rows: 0, duplicates: 0, inSourceFiles: 0, invalid: 0, partitions: 0, unchanged: true };

  const seen = new Set<string>();
  const byDate = new Map<string, Transaction[]>();
  let duplicates = 0;
  let invalid = 0;
  files.forEach((f, i) => {
    texts[i]!.split('\n').forEach((line, n) => {
      if (line === '') return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        row = null;
      }
      if (!validTransaction(row)) {
        invalid += 1;
        log(`landing: ${path.relative(layout.landing, f)}:${n + 1} is not a valid transaction; left out`);
        return;
      }
      const t = row as Transaction;
      if (seen.has(t.txn_id)) {
        duplicates += 1;
        return;
      }
      seen.add(t.txn_id);
      if (sharded && shardOf(t.customer_key, sharded.count) !== sharded.index) return;
      const list = byDate.get(t.date);
      if (list) list.push(t);
      else byDate.set(t.date, [t]);
    });
  });

  let rows = 0;
  let inSourceFiles = 0;
  const dates = [...byDate.keys()].sort();
  for (const date of dates) {
    const dir = partitionDir(layout.lake, date);
    const sourcePart = path.join(dir, part);
    const inLake = new Set<string>();
    if (fs.existsSync(sourcePart)) {
      const ids = readParquetFile(sourcePart, { columns: ['txn_id'] }).getChild('txn_id')!;
      for (let r = 0; r < ids.length; r += 1) inLake.add(ids.get(r) as string);
    }
    const keep = byDate.get(date)!.filter((t) => !inLake.has(t.txn_id));
    inSourceFiles += byDate.get(date)!.length - keep.length;
    const file = path.join(dir, landingPart);
    if (keep.length === 0) {
      fs.rmSync(file, { force: true });
      continue;
    }
    fs.mkdirSync(dir, { recursive: true });
    writeParquetFile(file, tableFromRows(LAKE_SCHEMA, keep as unknown as Record<string, unknown>[]));
    rows += keep.length;
  }
  // Landed parts of dates that no longer have landed rows (a shard leaves empty folders to the merge:
  // another shard may be writing into one).
  const now = new Set(dates);
  for (const p of listPartitions(layout.lake)) {
    if (!now.has(p.date) && fs.existsSync(path.join(p.dir, landingPart))) {
      fs.rmSync(path.join(p.dir, landingPart));
      if (!sharded && fs.readdirSync(p.dir).length === 0) fs.rmdirSync(p.dir);
    }
    // One process owns the lake: landed parts of shards an earlier sharded run wrote go.
    if (!sharded)
      for (const f of p.files)
        if (/^landing-[1-9]\d*\.parquet$/.test(path.basename(f))) {
          fs.rmSync(f);
          if (fs.readdirSync(p.dir).length === 0) fs.rmdirSync(p.dir);
        }
  }
  writeJsonAtomic(stateFile, { inputs, dates });
  log(
    `landing: ${files.length} file(s), ${rows} transaction(s) into ${dates.length} partition(s); ${duplicates} landed twice and ${inSourceFiles} already in a source file counted once${invalid ? `; ${invalid} invalid line(s) left out` : ''}`,
  );
  return { files: files.length, rows, duplicates, inSourceFiles, invalid, partitions: dates.length, unchanged: false };
}
