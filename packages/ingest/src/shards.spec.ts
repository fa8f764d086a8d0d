import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, listPartitions, readParquetFile, rowsFromTable, shardOf } from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import { itRealData, realDataPath } from '@bolsillo/testing';
import { mergeIngest, shardLakeDir } from './ingest-shards';
import { ingestLanding } from './landing';
import {
  ingestShard,
  ingestSharded,
  rawFolderWithQuarantine,
  readLake,
  readManifest,
  tmpDir,
  walk,
  writeGenerated,
  TEST_SECRET,
} from './ingest.test-util';
import { runIngest } from './run';

const ROOT = path.resolve(__dirname, '../../..');
/** Several stage runs (or processes) per test, on a shared machine. */
const SLOW = 400_000;
const CLI = path.join(__dirname, 'cli.ts');
// The CLI runs in this one process under tsx's loader (tsx's own CLI would run it in a child, which a
// SIGKILL of the parent leaves running).
const TSX = ['--import', 'tsx'];
const env = { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET };
const quiet = () => undefined;

/** The whole stage in one process, as the CLI runs it: source files, then the landing folder. */
async function whole(raw: string, data: string, backfill = false) {
  const r = await runIngest({ rawDir: raw, dataDir: data, backfill, env, log: quiet });
  ingestLanding(data, quiet);
  return r;
}

/** The lake's rows as a multiset: sorted by transaction id (unique in the lake). */
const lakeRows = (data: string): Transaction[] =>
  readLake(data).sort((a, b) => (a.txn_id < b.txn_id ? -1 : a.txn_id > b.txn_id ? 1 : 0));

/** Every file of a folder with its content (quarantine). */
const contents = (dir: string) =>
  Object.fromEntries(walk(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, 'utf8')]));

/** What the manifests must agree on: files, rows per date, k-anonymity, rejections. */
function manifestFacts(data: string) {
  const m = readManifest(data);
  return {
    files: m.files,
    rows: Object.fromEntries(Object.entries(m.partitions).map(([d, p]) => [d, p.rows])),
    k_anonymity: m.k_anonymity,
    rejected: m.rejected,
    secret_fingerprint: m.secret_fingerprint,
  };
}

function expectSameLake(actual: string, expected: string) {
  const a = lakeRows(actual);
  expect(a.length).toBe(lakeRows(expected).length);
  expect(a).toEqual(lakeRows(expected));
  expect(manifestFacts(actual)).toEqual(manifestFacts(expected));
  expect(contents(dataLayout(actual).quarantine)).toEqual(contents(dataLayout(expected).quarantine));
}

/** Part files by name in every date folder of the lake. */
const partNames = (data: string) =>
  new Set(listPartitions(dataLayout(data).lake).flatMap((p) => p.files.map((f) => path.basename(f))));

describe('ingest in shards', () => {
  it(
    '4 shards + merge give the lake, manifest figures and quarantine of one process',
    async () => {
      const raw = rawFolderWithQuarantine('raw');
      const one = tmpDir('one');
      const four = tmpDir('four');
      const w = await whole(raw, one);
      expect(w.summary).toMatchObject({ quarantined: 2 });
      const merged = await ingestSharded(raw, four, 4);
      expect([merged.rowsIn, merged.rowsOut]).toEqual([w.rowsIn, w.rowsOut]);
      expectSameLake(four, one);

      expect(partNames(four)).toEqual(new Set([0, 1, 2, 3].map((i) => `part-${i}.parquet`)));
      const m = readManifest(four);
      expect(m.shards).toBe(4);
      const someDate = Object.keys(m.partitions)[0]!;
      expect(Object.keys(m.partitions[someDate]!.parts ?? {}).every((n) => /^part-[0-3]\.parquet$/.test(n))).toBe(true);
    },
    SLOW,
  );

  it(
    "each part holds exactly the customers hashing to its shard, and each shard's manifest counts only them",
    async () => {
      const raw = rawFolderWithQuarantine('raw-parts');
      const data = tmpDir('parts');
      await ingestSharded(raw, data, 3);
      for (const p of listPartitions(dataLayout(data).lake))
        for (const f of p.files) {
          const i = Number(/-(\d+)\.parquet$/.exec(f)![1]);
          for (const t of rowsFromTable<Transaction>(readParquetFile(f))) expect(shardOf(t.customer_key, 3)).toBe(i);
        }
      const rowsOut = [0, 1, 2].map(
        (i) =>
          (
            JSON.parse(
              fs.readFileSync(path.join(shardLakeDir(dataLayout(data), i, 3), 'manifest.json'), 'utf8'),
            ) as ReturnType<typeof readManifest>
          ).files['a.csv']!.rows_out,
      );
      expect(rowsOut.reduce((a, b) => a + b, 0)).toBe(readManifest(data).files['a.csv']!.rows_out);
      expect(Math.min(...rowsOut)).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'incremental runs, a change of shard count and one process after shards all give the lake of one clean run',
    async () => {
      const raw = rawFolderWithQuarantine('raw-inc');
      const data = tmpDir('inc');
      const incremental = tmpDir('inc-whole');
      await ingestSharded(raw, data, 4);
      await whole(raw, incremental);
      // A new file and a changed one: each shard re-plans from its own manifest, as one process does from its.
      writeGenerated(raw, 'c.csv', { rows: 800, seed: 33, start: '2019-09-15', end: '2019-10-15' });
      writeGenerated(raw, 'a.csv', { rows: 2500, seed: 34, start: '2019-06-01', end: '2019-08-15' });
      await ingestSharded(raw, data, 4);
      await whole(raw, incremental);
      expectSameLake(data, incremental);
      // k-anonymity is over the files a run parsed; everything else equals a clean run's.
      const clean = tmpDir('inc-clean');
      await whole(raw, clean);
      expect(lakeRows(data)).toEqual(lakeRows(clean));
      expect({ ...manifestFacts(data), k_anonymity: null }).toEqual({ ...manifestFacts(clean), k_anonymity: null });

      // Two shards now (each rebuilds its parts from every file): parts 2 and 3 of the earlier runs leave the lake.
      await ingestSharded(raw, data, 2);
      expectSameLake(data, clean);
      expect(partNames(data)).toEqual(new Set(['part-0.parquet', 'part-1.parquet']));
      expect(fs.readdirSync(path.join(dataLayout(data).root, 'lake', 'shards'))).toEqual(['0-of-2', '1-of-2']);

      // One process after shards rebuilds the lake as one process writes it: same bytes, same content hash.
      await whole(raw, data);
      expectSameLake(data, clean);
      expect(readManifest(data)).toEqual(readManifest(clean));
      expect(partNames(data)).toEqual(new Set(['part-0.parquet']));
      expect(fs.existsSync(path.join(dataLayout(data).root, 'lake', 'shards'))).toBe(false);
    },
    SLOW,
  );

  it(
    'landed transactions: each shard keeps its customers’, once per id, as one process does',
    async () => {
      const raw = rawFolderWithQuarantine('raw-land');
      const one = tmpDir('land-one');
      await whole(raw, one);
      const lake = readLake(one);
      const landed = lake.slice(0, 60).map((t, k) => ({
        ...t,
        txn_id: `push-${k % 50}`,
        date: k % 3 === 0 ? '2030-01-01' : t.date,
        source_file: 'landing/api/2026-12-02.jsonl',
        source_line: k + 1,
      }));
      const land = (data: string) => {
        const dir = path.join(dataLayout(data).landing, 'api');
        fs.mkdirSync(dir, { recursive: true });
        // Ten ids twice, and a replay of a source-file row (kept once, from the source file).
        fs.writeFileSync(
          path.join(dir, '2026-12-02.jsonl'),
          [...landed, { ...lake[100]!, source_file: 'landing/api/2026-12-02.jsonl', source_line: 99 }]
            .map((t) => JSON.stringify(t))
            .join('\n') + '\n',
        );
      };
      land(one);
      ingestLanding(one, quiet);
      const four = tmpDir('land-four');
      land(four);
      await ingestSharded(raw, four, 4);
      expectSameLake(four, one);
      expect(lakeRows(four).filter((t) => t.txn_id.startsWith('push-'))).toHaveLength(50);
      expect([...partNames(four)].filter((n) => n.startsWith('landing-')).length).toBeGreaterThan(1);
    },
    SLOW,
  );

  it(
    'the merge refuses while a shard has not run, or when shards saw other source files',
    async () => {
      const raw = rawFolderWithQuarantine('raw-refuse');
      const data = tmpDir('refuse');
      await ingestShard(raw, data, 0, 2);
      expect(() => mergeIngest({ dataDir: data, shards: 2 })).toThrow(
        'shard 1 of 2 has not run (no lake/shards/1-of-2/manifest.json): run ingest --shard 1/2',
      );
      writeGenerated(raw, 'c.csv', { rows: 100, seed: 35 });
      await ingestShard(raw, data, 1, 2);
      expect(() => mergeIngest({ dataDir: data, shards: 2 })).toThrow(
        /shard 1 of 2 saw other source files than shard 0/,
      );
      expect(fs.existsSync(dataLayout(data).ingestManifest)).toBe(false);
    },
    SLOW,
  );

  itRealData(
    'on the real file: 4 shards + merge give the lake and figures of one process',
    async () => {
      const raw = tmpDir('real-raw');
      fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
      const one = tmpDir('real-one');
      const four = tmpDir('real-four');
      await whole(raw, one);
      const merged = await ingestSharded(raw, four, 4);
      expect(merged).toMatchObject({ rowsIn: 4955, rowsOut: 4955 });
      expect(merged.summary).toMatchObject({ customer_keys: 29 });
      expectSameLake(four, one);
    },
    SLOW,
  );
});

describe('a shard killed with SIGKILL mid-write', () => {
  function shardCli(raw: string, data: string, spec: string, killAfterParts?: number): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...TSX, CLI, '--shard', spec], {
        cwd: ROOT,
        env: { ...process.env, ...env, RAW_DIR: raw, DATA_DIR: data },
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      const part = `part-${spec.split('/')[0]}.parquet`;
      const lake = dataLayout(data).lake;
      const timer =
        killAfterParts === undefined
          ? undefined
          : setInterval(() => {
              const written = fs.existsSync(lake)
                ? fs.readdirSync(lake).filter((d) => fs.existsSync(path.join(lake, d, part))).length
                : 0;
              if (written >= killAfterParts) {
                clearInterval(timer);
                child.kill('SIGKILL');
              }
            }, 2);
      child.on('error', reject);
      child.on('exit', (code) => {
        if (timer) clearInterval(timer);
        resolve(code);
      });
    });
  }

  it(
    'is rerun, and shards + merge then equal a clean run',
    async () => {
      const raw = rawFolderWithQuarantine('raw-kill');
      const clean = tmpDir('kill-clean');
      await whole(raw, clean);
      const data = tmpDir('kill');
      await ingestShard(raw, data, 0, 2);
      expect(await shardCli(raw, data, '1/2', 3)).toBeNull(); // killed: no exit code
      const manifest = path.join(shardLakeDir(dataLayout(data), 1, 2), 'manifest.json');
      expect(fs.existsSync(manifest)).toBe(false);
      expect(() => mergeIngest({ dataDir: data, shards: 2 })).toThrow(/shard 1 of 2 has not run/);
      expect(await shardCli(raw, data, '1/2')).toBe(0);
      mergeIngest({ dataDir: data, shards: 2 });
      expectSameLake(data, clean);
      expect(walk(path.dirname(dataLayout(data).lake)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    },
    SLOW,
  );
});
