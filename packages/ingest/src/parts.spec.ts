import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, listPartitions, sha256 } from '@bolsillo/core';
import { itRealData, realDataPath } from '@bolsillo/testing';
import { ingestInParts } from './ingest-parts';
import {
  ingestSharded,
  rawFolderWithQuarantine,
  readLake,
  readManifest,
  tmpDir,
  walk,
  writeGenerated,
  TEST_SECRET,
} from './ingest.test-util';
import { DEFAULT_PARAMS_FILE } from './params';

const ROOT = path.resolve(__dirname, '../../..');
/** Several stage runs per test, on a shared machine. */
const SLOW = 400_000;
const env = { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET };
const quiet = () => undefined;

/** `ingest --parts n`, as its CLI runs it. */
const inParts = (raw: string, data: string, n: number, paramsFile?: string) =>
  ingestInParts({ rawDir: raw, dataDir: data, env, log: quiet, parts: n, ...params(paramsFile) });

const params = (paramsFile?: string) => (paramsFile ? { paramsFile } : {});

/**
 * Every file ingest owns under `lake/` (partitions, quarantine, lake manifest, the shards' manifests and
 * landing states) → the sha256 of its bytes. Nothing in them is a timing or a run id, so all must be equal.
 */
function lakeFiles(data: string): Record<string, string> {
  const root = path.dirname(dataLayout(data).lake);
  return Object.fromEntries(walk(root).map((f) => [path.relative(root, f), sha256(fs.readFileSync(f))]));
}

/** `--parts n` and n shards + merge on copies of the same data folder give the same files, byte for byte. */
function expectSameFiles(parts: string, shards: string, n: number) {
  const files = lakeFiles(parts);
  expect(files).toEqual(lakeFiles(shards));
  expect(Object.keys(files).filter((f) => f.startsWith('shards/')).length).toBeGreaterThanOrEqual(n);
  expect(readManifest(parts).shards).toBe(n);
  const names = new Set(listPartitions(dataLayout(parts).lake).flatMap((p) => p.files.map((f) => path.basename(f))));
  for (let i = 0; i < n; i++) expect(names).toContain(`part-${i}.parquet`);
}

/** Landed transactions (some ids twice, one a replay of a source row) in two data folders. */
function land(datas: readonly string[], from: string) {
  const lake = readLake(from);
  const landed = lake.slice(0, 60).map((t, k) => ({
    ...t,
    txn_id: `push-${k % 50}`,
    date: k % 3 === 0 ? '2030-01-01' : t.date,
    source_file: 'landing/api/2026-12-02.jsonl',
    source_line: k + 1,
  }));
  const text = [...landed, lake[100]!].map((t) => JSON.stringify(t)).join('\n') + '\n';
  for (const data of datas) {
    const dir = path.join(dataLayout(data).landing, 'api');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '2026-12-02.jsonl'), text);
  }
}

/** A params file: the stage's own with `changes`. */
function paramsWith(label: string, changes: Record<string, unknown>): string {
  const file = path.join(tmpDir(label), 'params.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')), ...changes }));
  return file;
}

describe('ingest --parts N: the lake of N shards + merge from one parse', () => {
  it(
    'on the repo sample (data/raw): every lake file equals 4 shards + merge’s',
    async () => {
      const raw = path.join(ROOT, 'data', 'raw');
      const parts = tmpDir('sample-parts');
      const shards = tmpDir('sample-shards');
      const r = await inParts(raw, parts, 4);
      const merged = await ingestSharded(raw, shards, 4);
      expect([r.rowsIn, r.rowsOut]).toEqual([merged.rowsIn, merged.rowsOut]);
      expect(r.summary).toMatchObject({ parts: 4, content_hash: merged.summary!.content_hash });
      expectSameFiles(parts, shards, 4);
    },
    SLOW,
  );

  it(
    'with quarantined rows and landed transactions, rows parsed in byte ranges or spilled: the same bytes',
    async () => {
      const raw = rawFolderWithQuarantine('raw');
      const seed = tmpDir('seed');
      await inParts(raw, seed, 1);
      // Byte ranges on a worker thread (small reads make the small files "large"), one pass that spills,
      // then byte ranges that spill.
      const ranges = paramsWith('ranges', { chunk_bytes: 4096, parse_workers: 1 });
      const spills = paramsWith('spills', { spill_rows: 300, parse_workers: 0 });
      const rangeSpills = paramsWith('range-spills', { chunk_bytes: 4096, parse_workers: 1, spill_rows: 300 });
      for (const paramsFile of [ranges, spills, rangeSpills]) {
        const parts = tmpDir('parts');
        const shards = tmpDir('shards');
        land([parts, shards], seed);
        await inParts(raw, parts, 4, paramsFile);
        await ingestSharded(raw, shards, 4, paramsFile);
        expectSameFiles(parts, shards, 4);
        expect(readManifest(parts).files['b.csv']!.quarantined).toBe(2);
        expect(Object.keys(lakeFiles(parts)).filter((f) => /landing-\d\.parquet$/.test(f)).length).toBeGreaterThan(1);
      }
    },
    SLOW,
  );

  it(
    'incremental runs, shards then parts, and another part count: the same bytes as shards throughout',
    async () => {
      const raw = rawFolderWithQuarantine('raw-inc');
      const parts = tmpDir('inc-parts');
      const shards = tmpDir('inc-shards');
      const mixed = tmpDir('inc-mixed');
      await inParts(raw, parts, 4);
      await ingestSharded(raw, shards, 4);
      await ingestSharded(raw, mixed, 4);
      expectSameFiles(parts, shards, 4);
      // A new file and a changed one: parts plan from the shards' manifests, as each shard does.
      writeGenerated(raw, 'c.csv', { rows: 800, seed: 43, start: '2019-09-15', end: '2019-10-15' });
      writeGenerated(raw, 'a.csv', { rows: 2500, seed: 44, start: '2019-06-01', end: '2019-08-15' });
      const r = await inParts(raw, parts, 4);
      expect(r.summary).toMatchObject({ files_parsed: ['a.csv', 'c.csv'] });
      await ingestSharded(raw, shards, 4);
      await inParts(raw, mixed, 4);
      expectSameFiles(parts, shards, 4);
      expectSameFiles(mixed, shards, 4);
      // Nothing changed: nothing parsed, the same files.
      expect((await inParts(raw, parts, 4)).rowsIn).toBe(0);
      expectSameFiles(parts, shards, 4);
      // Two parts now: the parts and states of four leave the lake, as with two shards.
      await inParts(raw, parts, 2);
      await ingestSharded(raw, shards, 2);
      expectSameFiles(parts, shards, 2);
      expect(fs.readdirSync(path.join(dataLayout(parts).root, 'lake', 'shards'))).toEqual(['0-of-2', '1-of-2']);
    },
    SLOW,
  );

  itRealData(
    'on the real file: every lake file equals 4 shards + merge’s',
    async () => {
      const raw = tmpDir('real-raw');
      fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
      const parts = tmpDir('real-parts');
      const shards = tmpDir('real-shards');
      const r = await inParts(raw, parts, 4);
      await ingestSharded(raw, shards, 4);
      expect(r).toMatchObject({ rowsIn: 4955, rowsOut: 4955 });
      expectSameFiles(parts, shards, 4);
    },
    SLOW,
  );
});
