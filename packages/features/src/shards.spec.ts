import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  ONLINE_STORE_FILE,
  dataLayout,
  listPartitions,
  partitionDir,
  readParquetFile,
  rowsFromTable,
  sha256,
  shardOf,
  tableFromRows,
  writeParquetFile,
  writeJsonAtomic,
} from '@bolsillo/core';
import { TransactionSchema, arrowSchemaFor, type Transaction } from '@bolsillo/schema';
import { itRealData, realDataPath, runStageCli as cli } from '@bolsillo/testing';
import { featureRunFiles, mergeFeatures } from './features-shards';
import { syntheticTransactions, tempDataDir, writeLake } from './fixtures.test-util';
import type { FeatureStoreManifest } from './pipeline';
import { runFeatures } from './run';

/** Several stage runs (or processes) per test, on a shared machine. */
const SLOW = 400_000;
const params = DEFAULT_FEATURE_PARAMS;
const now = () => new Date('2026-12-03T00:00:00Z');
const quiet = () => undefined;

/** A lake as ingest writes it in n shards: `part-<i>.parquet` holds the customers hashing to i; the manifest records each part. */
function writeShardedLake(dataDir: string, txns: readonly Transaction[], n: number): void {
  const layout = dataLayout(dataDir);
  const schema = arrowSchemaFor(TransactionSchema);
  const partitions: Record<string, { rows: number; sha256: string; parts: Record<string, object> }> = {};
  const byDate = new Map<string, Transaction[]>();
  for (const t of txns) byDate.set(t.date, [...(byDate.get(t.date) ?? []), t]);
  for (const [date, rows] of [...byDate].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts: Record<string, { rows: number; sha256: string }> = {};
    for (let i = 0; i < n; i++) {
      const mine = rows.filter((t) => shardOf(t.customer_key, n) === i);
      if (mine.length === 0) continue;
      const file = path.join(partitionDir(layout.lake, date), `part-${i}.parquet`);
      writeParquetFile(file, tableFromRows(schema, mine));
      parts[`part-${i}.parquet`] = { rows: mine.length, sha256: sha256(fs.readFileSync(file)) };
    }
    const names = Object.keys(parts);
    partitions[date] = {
      rows: rows.length,
      sha256: sha256(names.map((p) => `${p}:${parts[p]!.sha256}`).join('\n')),
      parts,
    };
  }
  writeJsonAtomic(layout.ingestManifest, { version: 1, files: {}, partitions, content_hash: '', shards: n });
}

const whole = (dataDir: string) => runFeatures({ dataDir, params, log: quiet, now });

async function sharded(dataDir: string, n: number) {
  for (let i = 0; i < n; i++) await runFeatures({ dataDir, params, log: quiet, now, shard: { index: i, count: n } });
  return mergeFeatures({ layout: dataLayout(dataDir), shards: n, now });
}

/** The feature store's rows as a multiset (each row as JSON, sorted). */
const featureRows = (dataDir: string) =>
  listPartitions(dataLayout(dataDir).featureStore)
    .flatMap((p) => p.files.flatMap((f) => rowsFromTable<Record<string, unknown>>(readParquetFile(f))))
    .map((r) => JSON.stringify(r))
    .sort();

const onlineText = (dataDir: string) =>
  fs.readFileSync(path.join(dataLayout(dataDir).onlineStore, ONLINE_STORE_FILE), 'utf8');

const manifest = (dataDir: string) =>
  JSON.parse(fs.readFileSync(dataLayout(dataDir).featureManifest, 'utf8')) as FeatureStoreManifest;

function expectSameStore(actual: string, expected: string) {
  const rows = featureRows(actual);
  expect(rows.length).toBe(featureRows(expected).length);
  expect(rows).toEqual(featureRows(expected));
  expect(onlineText(actual)).toBe(onlineText(expected));
}

const partNames = (dataDir: string) =>
  new Set(listPartitions(dataLayout(dataDir).featureStore).flatMap((p) => p.files.map((f) => path.basename(f))));

/** 40 customers over 90 days: some shard has no row on some days. */
const txns = (n: number, seed: number, days = 90) => syntheticTransactions(n, seed, 40, days);

describe('features in shards', () => {
  it(
    '4 shards + merge over a lake ingested in 4 shards give the rows, online store and manifest of one process',
    async () => {
      const data = tempDataDir('aligned');
      const reference = tempDataDir('aligned-one');
      const rows = txns(1500, 41);
      writeShardedLake(data, rows, 4);
      writeShardedLake(reference, rows, 4);
      await whole(reference);
      const merged = await sharded(data, 4);
      expect(merged.customers).toBe(40);
      expectSameStore(data, reference);
      expect({ ...manifest(data), shards: undefined }).toEqual({ ...manifest(reference), shards: undefined });
      expect(manifest(data).shards).toBe(4);
      expect(partNames(data)).toEqual(new Set([0, 1, 2, 3].map((i) => `part-${i}.parquet`)));
      // Days without a row of a shard's customers: no part, recorded as such.
      const empty = [0, 1, 2, 3].flatMap(
        (i) =>
          (
            JSON.parse(
              fs.readFileSync(featureRunFiles(dataLayout(data), { index: i, count: 4 }).manifest, 'utf8'),
            ) as FeatureStoreManifest
          ).empty_dates ?? [],
      );
      expect(empty.length).toBeGreaterThan(0);

      // And the same as one process over a lake written in one process.
      const plain = tempDataDir('aligned-plain');
      writeLake(plain, rows);
      await whole(plain);
      expectSameStore(data, plain);
    },
    SLOW,
  );

  it(
    '3 shards over a lake written in one process read every file and keep their customers',
    async () => {
      const data = tempDataDir('fallback');
      const reference = tempDataDir('fallback-one');
      const rows = txns(1200, 42);
      writeLake(data, rows);
      writeLake(reference, rows);
      await whole(reference);
      await sharded(data, 3);
      expectSameStore(data, reference);
      expect({ ...manifest(data), shards: undefined }).toEqual({ ...manifest(reference), shards: undefined });
      for (const p of listPartitions(dataLayout(data).featureStore))
        for (const f of p.files) {
          const i = Number(/part-(\d+)/.exec(f)![1]);
          for (const r of rowsFromTable<{ customer_key: string }>(readParquetFile(f)))
            expect(shardOf(r.customer_key, 3)).toBe(i);
        }
    },
    SLOW,
  );

  it(
    'incremental shard runs (an appended day, a changed day) and one process after shards equal a clean run',
    async () => {
      const data = tempDataDir('inc');
      const rows = txns(1000, 43, 60);
      writeShardedLake(data, rows, 2);
      await sharded(data, 2);
      // Later days only: each shard resumes from its own states.
      const later = syntheticTransactions(300, 44, 40, 10).map((t, k) => ({
        ...t,
        date: `2019-07-${String(1 + (k % 9)).padStart(2, '0')}`,
        txn_id: `later.csv#${k + 2}`,
        source_file: 'later.csv',
      }));
      writeShardedLake(data, [...rows, ...later], 2);
      await sharded(data, 2);
      const clean = tempDataDir('inc-clean');
      writeShardedLake(clean, [...rows, ...later], 2);
      await whole(clean);
      expectSameStore(data, clean);

      // An earlier day changed: recomputed from there in every shard.
      const changed = [...rows.map((t) => (t.date === '2019-04-20' ? { ...t, amount: 1 } : t)), ...later];
      writeShardedLake(data, changed, 2);
      await sharded(data, 2);
      const clean2 = tempDataDir('inc-clean2');
      writeShardedLake(clean2, changed, 2);
      await whole(clean2);
      expectSameStore(data, clean2);

      // One process after shards: continues from the merged manifest, rewrites part-0 of the days it recomputes.
      const more = later.map((t, k) => ({
        ...t,
        date: '2019-07-20',
        txn_id: `more.csv#${k + 2}`,
        source_file: 'more.csv',
      }));
      writeShardedLake(data, [...changed, ...more], 2);
      const r = await whole(data);
      expect(r.partitionsWritten).toBe(1);
      const clean3 = tempDataDir('inc-clean3');
      writeShardedLake(clean3, [...changed, ...more], 2);
      await whole(clean3);
      expectSameStore(data, clean3);
      expect(fs.readdirSync(partitionDir(dataLayout(data).featureStore, '2019-07-20'))).toEqual(['part-0.parquet']);
      expect(fs.existsSync(path.join(path.dirname(dataLayout(data).featureStore), 'shards'))).toBe(false);

      // Shards again, now 3: each rebuilds its parts; parts of earlier layouts are gone after the merge.
      await sharded(data, 3);
      expectSameStore(data, clean3);
      expect(partNames(data)).toEqual(new Set(['part-0.parquet', 'part-1.parquet', 'part-2.parquet']));
    },
    SLOW,
  );

  it(
    'the merge refuses while a shard has not run, or when the lake changed after a shard ran',
    async () => {
      const data = tempDataDir('refuse');
      const rows = txns(600, 45, 30);
      writeShardedLake(data, rows, 2);
      await runFeatures({ dataDir: data, params, log: quiet, shard: { index: 0, count: 2 } });
      expect(() => mergeFeatures({ layout: dataLayout(data), shards: 2 })).toThrow(
        'shard 1 of 2 has not run (no feature-store/shards/1-of-2/manifest.json): run features --shard 1/2',
      );
      await runFeatures({ dataDir: data, params, log: quiet, shard: { index: 1, count: 2 } });
      writeShardedLake(data, rows.slice(0, 500), 2);
      expect(() => mergeFeatures({ layout: dataLayout(data), shards: 2 })).toThrow(
        /shard 0 of 2 computed from another lake than the one now in place: run features --shard 0\/2/,
      );
      expect(fs.existsSync(dataLayout(data).featureManifest)).toBe(false);
    },
    SLOW,
  );

  it(
    "the merge streams the shards' states; it refuses a customer in two shards or states out of key order",
    async () => {
      const data = tempDataDir('merge-stream');
      writeShardedLake(data, txns(600, 47, 30), 2);
      const layout = dataLayout(data);
      for (let i = 0; i < 2; i++)
        await runFeatures({ dataDir: data, params, log: quiet, now, shard: { index: i, count: 2 } });
      const states = [0, 1].map((i) => featureRunFiles(layout, { index: i, count: 2 }).online);
      // Neither the shards' files nor the store are ever one string in memory.
      const readFileSync = jest.spyOn(fs, 'readFileSync');
      try {
        expect(mergeFeatures({ layout, shards: 2, now }).customers).toBe(40);
        const read = readFileSync.mock.calls.map(([f]) => String(f));
        expect(read.filter((f) => states.includes(f) || f === layout.onlineSnapshot)).toEqual([]);
      } finally {
        readFileSync.mockRestore();
      }
      const merged = fs.readFileSync(layout.onlineSnapshot, 'utf8');
      const store = JSON.parse(merged) as { customers: Record<string, unknown> };
      expect(merged).toBe(`${JSON.stringify({ ...store, customers: store.customers })}\n`);
      expect(Object.keys(store.customers)).toEqual(Object.keys(store.customers).sort());

      const shard1 = fs.readFileSync(states[1]!, 'utf8');
      const withCustomers = (customers: Record<string, unknown>) =>
        `${JSON.stringify({ ...(JSON.parse(shard1) as object), customers })}\n`;
      const own = (JSON.parse(shard1) as { customers: Record<string, unknown> }).customers;
      const [stray] = Object.entries(
        (JSON.parse(fs.readFileSync(states[0]!, 'utf8')) as { customers: Record<string, unknown> }).customers,
      );
      const sorted = Object.fromEntries([...Object.entries(own), stray!].sort(([a], [b]) => (a < b ? -1 : 1)));
      fs.writeFileSync(states[1]!, withCustomers(sorted));
      expect(() => mergeFeatures({ layout, shards: 2, now })).toThrow(
        `customer ${stray![0].slice(0, 12)}… is in two shards (0 and 1)`,
      );
      fs.writeFileSync(states[1]!, withCustomers(Object.fromEntries(Object.entries(own).reverse())));
      expect(() => mergeFeatures({ layout, shards: 2, now })).toThrow(
        /shard 1 of 2: customer states not sorted by key/,
      );
      // Refused: the store written before stays, and no temporary file is left.
      expect(fs.readFileSync(layout.onlineSnapshot, 'utf8')).toBe(merged);
      expect(walkTmp(path.dirname(layout.featureStore))).toEqual([]);
    },
    SLOW,
  );
});

describe('features shards through the CLI', () => {
  it(
    'a shard killed with SIGKILL mid-write, then rerun: shards + merge equal a clean run',
    async () => {
      const rows = txns(3000, 46, 200);
      const clean = tempDataDir('kill-clean');
      writeShardedLake(clean, rows, 2);
      await whole(clean);
      // The kill must land mid-write: on a loaded machine the watcher may see the parts only once the
      // shard has finished, so the scenario is tried again (a fresh folder each time) until it does.
      let data = '';
      let store = '';
      let env: Record<string, string> = {};
      for (let attempt = 0; attempt < 5; attempt++) {
        data = tempDataDir('kill');
        writeShardedLake(data, rows, 2);
        env = { DATA_DIR: data };
        expect(await cli('features', ['--shard', '0/2'], env)).toBe(0);
        store = dataLayout(data).featureStore;
        const written = () =>
          fs.existsSync(store)
            ? fs.readdirSync(store).filter((d) => fs.existsSync(path.join(store, d, 'part-1.parquet'))).length
            : 0;
        expect(await cli('features', ['--shard', '1/2'], env, () => written() >= 3)).toBeNull();
        if (!fs.existsSync(featureRunFiles(dataLayout(data), { index: 1, count: 2 }).manifest)) break;
      }
      // Killed before its manifest, the last write: the shard was really interrupted, and the merge refuses.
      expect(fs.existsSync(featureRunFiles(dataLayout(data), { index: 1, count: 2 }).manifest)).toBe(false);
      expect(await cli('features', ['--merge'], { ...env, BOLSILLO_SHARDS: '2' }, undefined, 1)).toBe(1);
      expect(await cli('features', ['--shard', '1/2'], env)).toBe(0);
      expect(await cli('features', ['--merge'], { ...env, BOLSILLO_SHARDS: '2' })).toBe(0);
      expectSameStore(data, clean);
      expect(walkTmp(path.dirname(store))).toEqual([]);
    },
    SLOW,
  );

  it(
    'after ingest --parts 4, each features shard logs that it reads only its own parts; the store equals one process’s',
    async () => {
      const raw = path.resolve(__dirname, '../../../data/raw');
      const one = tempDataDir('parts-one');
      const four = tempDataDir('parts-four');
      expect(await cli('ingest', [], { RAW_DIR: raw, DATA_DIR: one })).toBe(0);
      await whole(one);
      expect(await cli('ingest', ['--parts', '4'], { RAW_DIR: raw, DATA_DIR: four })).toBe(0);
      for (let i = 0; i < 4; i++) {
        const logs: string[] = [];
        await runFeatures({ dataDir: four, params, log: (m) => logs.push(m), now, shard: { index: i, count: 4 } });
        expect(logs).toContain(`lake: reads only its own parts (part-${i}, landing-${i}): the lake is in 4 parts`);
      }
      mergeFeatures({ layout: dataLayout(four), shards: 4, now });
      expectSameStore(four, one);
      // A lake of one process: a shard reads every file.
      const logs: string[] = [];
      await runFeatures({ dataDir: one, params, log: (m) => logs.push(m), now, shard: { index: 1, count: 4 } });
      expect(logs).toContain("lake: reads every lake file and keeps its customers' rows (the lake is not in 4 parts)");
    },
    SLOW,
  );

  itRealData(
    'on the real file: ingest and features in 4 shards + merge equal one process',
    async () => {
      const raw = tempDataDir('real-raw');
      fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
      const one = tempDataDir('real-one');
      const four = tempDataDir('real-four');
      expect(await cli('ingest', [], { RAW_DIR: raw, DATA_DIR: one })).toBe(0);
      expect(await cli('features', [], { DATA_DIR: one })).toBe(0);
      for (const stage of ['ingest', 'features']) {
        const codes = await Promise.all(
          [0, 1, 2, 3].map((i) => cli(stage, ['--shard', `${i}/4`], { RAW_DIR: raw, DATA_DIR: four })),
        );
        expect(codes).toEqual([0, 0, 0, 0]);
        expect(await cli(stage, ['--merge'], { RAW_DIR: raw, DATA_DIR: four, BOLSILLO_SHARDS: '4' })).toBe(0);
      }
      expectSameStore(four, one);
      expect(featureRows(four)).toHaveLength(4955);
    },
    SLOW,
  );
});

function walkTmp(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.name.includes('.tmp-'))
    .map((e) => e.name);
}
