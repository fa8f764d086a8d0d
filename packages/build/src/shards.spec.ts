import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dataLayout,
  parquetFileSet,
  partitionDir,
  readJson,
  readParquetFile,
  readParquetRowCount,
  rowsFromTable,
  shardOf,
  tableFromRows,
  writeJsonAtomic,
  writeParquetFile,
} from '@bolsillo/core';
import { arrowSchemaFor, FeatureRowSchema, type FeatureRow } from '@bolsillo/schema';
import { itRealData, realDataPath } from '@bolsillo/testing';
import { buildShardDir, mergeBuild, runBuildShard, stagedRowGroupRows } from './build-shards';
import { generateFeatureRows, writeFeatureStore } from './fixtures.test-util';
import { runBuild } from './run';

const ROOT = path.resolve(__dirname, '../../..');
/** Several builds per test, on a shared machine. */
const SLOW = 400_000;
const AS_OF = '2020-03-15';
const quiet = () => undefined;

const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-build-shards-${label}-`));

/** A feature store as the features stage writes it in n shards: part-<i> holds the customers hashing to i. */
function writeShardedStore(dataDir: string, rows: readonly FeatureRow[], n: number): void {
  const root = dataLayout(dataDir).featureStore;
  const schema = arrowSchemaFor(FeatureRowSchema);
  const byDate = new Map<string, FeatureRow[]>();
  for (const r of rows) byDate.set(r.date, [...(byDate.get(r.date) ?? []), r]);
  for (const [date, list] of byDate)
    for (let i = 0; i < n; i++) {
      const mine = list.filter((r) => shardOf(r.customer_key, n) === i);
      if (mine.length > 0)
        writeParquetFile(path.join(partitionDir(root, date), `part-${i}.parquet`), tableFromRows(schema, mine));
    }
  writeJsonAtomic(dataLayout(dataDir).featureManifest, {
    version: 1,
    config_hash: 'test',
    inputs: {},
    as_of: [...byDate.keys()].sort().pop(),
    updated_at: '2026-12-03T00:00:00.000Z',
    shards: n,
  });
}

async function sharded(dataDir: string, n: number, paramsFile?: string, masterFileRows?: number) {
  const options = {
    dataDir,
    asOf: AS_OF,
    log: quiet,
    ...(paramsFile ? { paramsFile } : {}),
    ...(masterFileRows ? { masterFileRows } : {}),
  };
  for (let i = 0; i < n; i++) await runBuildShard({ ...options, index: i, count: n });
  return mergeBuild({ ...options, shards: n });
}

/** Every file of the latest master folder with its bytes (the manifest without its list of input files). */
function masterFolder(dataDir: string): Record<string, string> {
  const layout = dataLayout(dataDir);
  const { hash } = readJson<{ hash: string }>(layout.masterLatest);
  const dir = layout.masterDir(hash);
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => {
        const text = fs.readFileSync(path.join(dir, f)).toString(f.endsWith('.parquet') ? 'base64' : 'utf8');
        if (f !== 'manifest.json') return [f, text];
        const { inputs: _inputs, ...rest } = JSON.parse(text) as Record<string, unknown>;
        return [f, JSON.stringify({ ...rest, hash })];
      }),
  );
}

describe('build in shards', () => {
  it('stages smaller row groups as shards grow: the merge decodes about as many rows at once', () => {
    expect([1, 2, 4, 16, 64, 255].map(stagedRowGroupRows)).toEqual([131_072, 131_072, 65_536, 16_384, 4096, 4096]);
  });

  it(
    '4 shards + merge over a store computed in 4 shards write the master folder of one process, byte for byte',
    async () => {
      const rows = generateFeatureRows({ customers: 48, perCustomer: 40, seed: 11 });
      const one = tmp('one');
      const four = tmp('four');
      writeFeatureStore(one, rows);
      writeShardedStore(four, rows, 4);
      const whole = await runBuild({ dataDir: one, asOf: AS_OF, log: quiet });
      const merged = await sharded(four, 4);
      expect(merged).toMatchObject({
        rowsIn: whole.rowsIn,
        rowsOut: whole.rowsOut,
        hash: (whole as { hash: string }).hash,
      });
      expect(masterFolder(four)).toEqual(masterFolder(one));
      // The merge leaves no staged shard results behind.
      expect(fs.existsSync(dataLayout(four).masterShards)).toBe(false);
    },
    SLOW,
  );

  it(
    '3 shards over a store written in one process read every file and keep their customers',
    async () => {
      const rows = generateFeatureRows({ customers: 30, perCustomer: 35, seed: 12 });
      const one = tmp('fallback-one');
      const three = tmp('fallback-three');
      writeFeatureStore(one, rows);
      writeFeatureStore(three, rows);
      await runBuild({ dataDir: one, asOf: AS_OF, log: quiet });
      await sharded(three, 3);
      expect(masterFolder(three)).toEqual(masterFolder(one));
    },
    SLOW,
  );

  it(
    'group_time splits (rows in no split leave the table): the merge writes the master folder of one process',
    async () => {
      const rows = generateFeatureRows({ customers: 40, perCustomer: 40, seed: 15 });
      const params = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'params.json'), 'utf8')) as {
        split: { strategy: string };
      };
      params.split.strategy = 'group_time';
      const paramsFile = path.join(tmp('params'), 'params.json');
      fs.writeFileSync(paramsFile, JSON.stringify(params));
      const one = tmp('group-time-one');
      const two = tmp('group-time-two');
      writeFeatureStore(one, rows);
      writeShardedStore(two, rows, 2);
      await runBuild({ dataDir: one, asOf: AS_OF, log: quiet, paramsFile });
      await sharded(two, 2, paramsFile);
      const folder = masterFolder(two);
      expect(JSON.parse(folder['splits.json']!).unassigned.rows).toBeGreaterThan(0);
      expect(folder).toEqual(masterFolder(one));
    },
    SLOW,
  );

  it(
    'a failed quality gate stops the merge with the message and evidence of one process',
    async () => {
      const rows = generateFeatureRows({ customers: 12, perCustomer: 20, seed: 13 });
      const params = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'params.json'), 'utf8')) as {
        quality: { row_count: { min: number } };
      };
      params.quality.row_count.min = rows.length + 1;
      const paramsFile = path.join(tmp('params'), 'params.json');
      fs.writeFileSync(paramsFile, JSON.stringify(params));
      const one = tmp('quality-one');
      const two = tmp('quality-two');
      writeFeatureStore(one, rows);
      writeFeatureStore(two, rows);
      const expected = await runBuild({ dataDir: one, asOf: AS_OF, log: quiet, paramsFile }).catch(
        (e: Error) => e.message,
      );
      expect(expected).toMatch(/data quality failed: 1 error expectation\(s\): row_count_between \(rows 240\)/);
      await expect(sharded(two, 2, paramsFile)).rejects.toThrow(expected as string);
      expect(fs.readFileSync(dataLayout(two).masterFailure, 'utf8')).toBe(
        fs.readFileSync(dataLayout(one).masterFailure, 'utf8'),
      );
    },
    SLOW,
  );

  it(
    'the merge refuses while a shard has not run, ran with other params, or read another store',
    async () => {
      const rows = generateFeatureRows({ customers: 12, perCustomer: 20, seed: 14 });
      const data = tmp('refuse');
      writeFeatureStore(data, rows);
      await runBuildShard({ dataDir: data, asOf: AS_OF, log: quiet, index: 0, count: 2 });
      await expect(mergeBuild({ dataDir: data, asOf: AS_OF, shards: 2 })).rejects.toThrow(
        'shard 1 of 2 has not run (no master/shards/1-of-2/stats.json): run build --shard 1/2',
      );
      await runBuildShard({ dataDir: data, asOf: '2020-03-16', log: quiet, index: 1, count: 2 });
      await expect(mergeBuild({ dataDir: data, asOf: AS_OF, shards: 2 })).rejects.toThrow(
        'shard 1 of 2 ran with other params or another --as-of: run build --shard 1/2',
      );
      await runBuildShard({ dataDir: data, asOf: AS_OF, log: quiet, index: 1, count: 2 });
      writeFeatureStore(data, generateFeatureRows({ customers: 12, perCustomer: 20, seed: 14, start: '2020-01-05' }));
      await expect(mergeBuild({ dataDir: data, asOf: AS_OF, shards: 2 })).rejects.toThrow(
        /the shards read another feature store than the one now in place/,
      );
      expect(fs.existsSync(dataLayout(data).masterLatest)).toBe(false);
      expect(fs.existsSync(buildShardDir(dataLayout(data), 0, 2))).toBe(true);
    },
    SLOW,
  );

  itRealData(
    'on the real file: 4 shards + merge write the master folder of one process, byte for byte',
    async () => {
      const raw = tmp('real-raw');
      fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
      const data = tmp('real');
      // Upstream stages may not be imported by a stage: their CLIs run as child processes.
      for (const stage of ['ingest', 'features'])
        execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'packages', stage, 'src', 'cli.ts')], {
          cwd: ROOT,
          env: { ...process.env, RAW_DIR: raw, DATA_DIR: data },
          stdio: 'pipe',
        });
      const four = tmp('real-four');
      fs.cpSync(path.join(data, 'feature-store'), path.join(four, 'feature-store'), { recursive: true });
      const whole = await runBuild({ dataDir: data, asOf: '2020-05-10', log: quiet });
      for (let i = 0; i < 4; i++)
        await runBuildShard({ dataDir: four, asOf: '2020-05-10', log: quiet, index: i, count: 4 });
      const merged = await mergeBuild({ dataDir: four, asOf: '2020-05-10', shards: 4 });
      expect(merged).toMatchObject({ rowsIn: 4955, rowsOut: whole.rowsOut });
      expect(masterFolder(four)).toEqual(masterFolder(data));
    },
    SLOW,
  );

  it(
    'a master table past masterFileRows goes on in master.1.parquet…, the same files from one process and the merge',
    async () => {
      const rows = generateFeatureRows({ customers: 24, perCustomer: 40, seed: 14 });
      const whole = tmp('files-whole');
      const one = tmp('files-one');
      const two = tmp('files-two');
      writeFeatureStore(whole, rows);
      writeFeatureStore(one, rows);
      writeShardedStore(two, rows, 2);
      const a = (await runBuild({ dataDir: whole, asOf: AS_OF, log: quiet })) as { hash: string; dir: string };
      const b = (await runBuild({ dataDir: one, asOf: AS_OF, log: quiet, masterFileRows: 300 })) as typeof a;
      await sharded(two, 2, undefined, 300);
      // The file layout is not part of the table: same hash, same rows in the same order.
      expect(b.hash).toBe(a.hash);
      const files = parquetFileSet(path.join(b.dir, 'master.parquet'));
      expect(files).toHaveLength(Math.ceil((await readParquetRowCount(path.join(a.dir, 'master.parquet'))) / 300));
      expect(files.length).toBeGreaterThan(2);
      // readParquetFile reads master.parquet with its continuations.
      expect(rowsFromTable(readParquetFile(path.join(b.dir, 'master.parquet')))).toEqual(
        rowsFromTable(readParquetFile(path.join(a.dir, 'master.parquet'))),
      );
      const manifest = readJson<{ files: string[] }>(path.join(b.dir, 'manifest.json'));
      expect(manifest.files.filter((f) => f.endsWith('.parquet'))).toEqual(files.map((f) => path.basename(f)));
      expect(fs.readdirSync(b.dir).sort()).toEqual([...manifest.files].sort());
      expect(masterFolder(two)).toEqual(masterFolder(one));
    },
    SLOW,
  );
});
