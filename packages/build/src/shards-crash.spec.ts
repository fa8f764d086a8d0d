/**
 * Build shards killed with SIGKILL (a pod evicted, a node lost) and rerun, through the CLI as a Job
 * runs it: the results equal a clean run's. A shard killed while it stages its snapshots leaves no
 * results the merge would take (it refuses, naming the shard), and after its rerun the merge writes
 * the clean run's master folder. A merge or whole build killed while it writes the master table leaves
 * a temporary folder under master/, which the rerun removes before it writes the clean run's folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dataLayout,
  partitionDir,
  readJson,
  shardOf,
  tableFromRows,
  writeJsonAtomic,
  writeParquetFile,
} from '@bolsillo/core';
import { arrowSchemaFor, FeatureRowSchema, type FeatureRow } from '@bolsillo/schema';
import { runStageCli, temporaries } from '@bolsillo/testing';
import { buildShardDir } from './build-shards';
import { generateFeatureRows } from './fixtures.test-util';
import { runBuild } from './run';

/** Several build processes per test, on a shared machine. */
const SLOW = 600_000;
const AS_OF = '2020-03-15';

const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-build-crash-${label}-`));

/** A feature store as features writes it in n shards: part-<i> holds the customers hashing to i. */
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

/** The build CLI at the fixture's as-of date. */
const cli = (args: string[], env: Record<string, string>, killWhen?: () => boolean, expected?: number | null) =>
  runStageCli('build', ['--as-of', AS_OF, ...args], env, killWhen, expected);

describe('build shards killed with SIGKILL', () => {
  // Enough rows that staging and writing the master folder take a moment to land the kill in.
  const rows = generateFeatureRows({ customers: 40, perCustomer: 200, seed: 15 });
  let clean = '';

  beforeAll(async () => {
    clean = tmp('clean');
    writeShardedStore(clean, rows, 2);
    await runBuild({ dataDir: clean, asOf: AS_OF, log: () => undefined });
  }, SLOW);

  it(
    'a shard killed while it stages its results, then rerun: shards + merge write the clean master folder',
    async () => {
      // The kill must land mid-write: on a loaded machine the watcher may see the staging folder only
      // once the shard has finished, so the scenario is tried again (a fresh folder each time) until it does.
      let data = '';
      let env: Record<string, string> = {};
      for (let attempt = 0; attempt < 5; attempt++) {
        data = tmp('kill-shard');
        writeShardedStore(data, rows, 2);
        env = { DATA_DIR: data };
        expect(await cli(['--shard', '0/2'], env)).toBe(0);
        const shards = dataLayout(data).masterShards;
        const staging = () => temporaries(shards).some((t) => t.startsWith('.1-of-2.tmp-'));
        expect(await cli(['--shard', '1/2'], env, staging)).toBeNull();
        if (!fs.existsSync(path.join(buildShardDir(dataLayout(data), 1, 2), 'stats.json'))) break;
      }
      // Killed before its results were in place: the merge refuses, naming the shard.
      expect(fs.existsSync(path.join(buildShardDir(dataLayout(data), 1, 2), 'stats.json'))).toBe(false);
      const refused = await cli(['--merge'], { ...env, BOLSILLO_SHARDS: '2' }, undefined, 1);
      expect(refused).toBe(1);
      expect(fs.existsSync(dataLayout(data).masterLatest)).toBe(false);
      expect(await cli(['--shard', '1/2'], env)).toBe(0);
      expect(await cli(['--merge'], { ...env, BOLSILLO_SHARDS: '2' })).toBe(0);
      expect(masterFolder(data)).toEqual(masterFolder(clean));
      expect(temporaries(path.join(data, 'master'))).toEqual([]);
    },
    SLOW,
  );

  /**
   * Kill `args`' build while it writes the clean run's master table (copying a fresh `template` each try,
   * until the kill lands before `latest.json` is written): as soon as a temporary named `temporary(hash)`
   * exists, which it must have left; rerun: the clean result.
   */
  async function killWhileWritingMaster(
    template: string,
    args: string[],
    env: Record<string, string>,
    temporary: (hash: string) => RegExp,
  ) {
    const { hash } = readJson<{ hash: string }>(dataLayout(clean).masterLatest);
    const pattern = temporary(hash);
    let data = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      data = tmp('kill-master');
      fs.cpSync(template, data, { recursive: true });
      const writing = () => temporaries(dataLayout(data).master).some((t) => pattern.test(t));
      expect(await cli(args, { ...env, DATA_DIR: data }, writing)).toBeNull();
      if (!fs.existsSync(dataLayout(data).masterLatest)) break;
    }
    expect(fs.existsSync(dataLayout(data).masterLatest)).toBe(false);
    expect(temporaries(dataLayout(data).master)).toContainEqual(expect.stringMatching(pattern));
    expect(await cli(args, { ...env, DATA_DIR: data })).toBe(0);
    expect(temporaries(dataLayout(data).master)).toEqual([]);
    expect(masterFolder(data)).toEqual(masterFolder(clean));
  }

  it(
    'a merge killed while it writes the master folder, then rerun: no temporaries, the clean master folder',
    async () => {
      const template = tmp('merge-template');
      writeShardedStore(template, rows, 2);
      for (const shard of ['0/2', '1/2']) expect(await cli(['--shard', shard], { DATA_DIR: template })).toBe(0);
      // The merge streams master.parquet into a staging folder before the table's hash names its folder.
      await killWhileWritingMaster(template, ['--merge'], { BOLSILLO_SHARDS: '2' }, () => /^\.merge\.tmp-/);
    },
    SLOW,
  );

  it(
    'a whole build killed while it writes the master folder, then rerun: no temporaries, the clean master folder',
    async () => {
      const template = tmp('whole-template');
      writeShardedStore(template, rows, 2);
      await killWhileWritingMaster(template, [], {}, (hash) => new RegExp(`^\\.${hash}\\.tmp-`));
    },
    SLOW,
  );
});
