import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import {
  ONLINE_STORE_FILE,
  computeFeatures,
  dataLayout,
  emptyCustomerState,
  listPartitions,
  readOnlineStore,
  readParquetFile,
  rowsFromTable,
  updateCustomerState,
} from '@bolsillo/core';
import { FEATURE_NAMES, type FeatureRow, type Transaction } from '@bolsillo/schema';
import { tempDataDir } from './fixtures.test-util';
import { computeFeatureRows, sortTransactions } from './pipeline';
import { readFeatures } from './read-features';
import { itRealData, realDataPath } from '@bolsillo/testing';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function stage(cli: string, dataDir: string, rawDir: string) {
  // The stages run as the pipeline runs them: their CLIs, in separate processes (a stage never imports another).
  const r = spawnSync(TSX, [cli], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, RAW_DIR: rawDir },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('features on the real file', () => {
  itRealData(
    'ingests, computes features, and the store opens in DuckDB and apache-arrow with the online path in parity',
    async () => {
      const dir = tempDataDir('real');
      const raw = path.join(dir, 'raw');
      fs.mkdirSync(raw);
      fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv')); // into os.tmpdir(), never the repo
      const ingest = stage('packages/ingest/src/cli.ts', dir, raw);
      expect(ingest.stderr + ingest.stdout).toMatch(/done/);
      expect(ingest.status).toBe(0);

      const run = stage('packages/features/src/cli.ts', dir, raw);
      expect(run.status).toBe(0);
      const lakeRows = listPartitions(dataLayout(dir).lake).flatMap((p) =>
        p.files.flatMap((f) => rowsFromTable<Transaction>(readParquetFile(f))),
      );
      expect(run.stdout).toContain(`rows in ${lakeRows.length}, rows out ${lakeRows.length}`);

      // apache-arrow (through parquet-wasm) and the reading API.
      const table = readFeatures({}, dir);
      expect(table.numRows).toBe(lakeRows.length);
      const first = listPartitions(dataLayout(dir).featureStore)[0]!;
      expect(tableFromIPC(readParquet(fs.readFileSync(first.files[0]!)).intoIPCStream()).numRows).toBeGreaterThan(0);
      const rows = rowsFromTable<FeatureRow>(table);

      // DuckDB reads the Hive-partitioned store and agrees with Arrow.
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      const glob = path.join(dataLayout(dir).featureStore, 'date=*', '*.parquet');
      const result = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT customer_key)::INTEGER AS customers, sum(hist_sum_30d) AS s30, ` +
          `count(days_since_prev)::INTEGER AS with_prev, min(date)::VARCHAR AS first FROM read_parquet('${glob}', hive_partitioning = true)`,
      );
      const duck = result.getRowObjectsJson()[0]!;
      const customers = new Set(lakeRows.map((t) => t.customer_key)).size;
      expect(duck).toMatchObject({
        n: lakeRows.length,
        customers,
        with_prev: lakeRows.length - customers,
        first: first.date,
      });
      expect(Number(duck.s30)).toBeCloseTo(
        rows.reduce((a, r) => a + r.hist_sum_30d, 0),
        3,
      );
      const columns = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}')`);
      expect(columns.getRowObjectsJson().map((c) => c.column_name)).toEqual([
        'txn_id',
        'customer_key',
        'date',
        ...FEATURE_NAMES,
      ]);
      conn.closeSync();

      // Online/offline parity on real histories: replay the last 60 days from the history before them.
      const store = readOnlineStore(path.join(dataLayout(dir).onlineStore, ONLINE_STORE_FILE))!;
      expect(Object.keys(store.customers)).toHaveLength(customers);
      const sorted = sortTransactions(lakeRows);
      const cut = sorted[sorted.length - 1]!.date.slice(0, 8) + '01';
      const states: Record<string, ReturnType<typeof emptyCustomerState>> = {};
      const offline = new Map(rows.map((r) => [r.txn_id, r]));
      let replayed = 0;
      for (const t of sorted) {
        const { txn_id: _i, source_file: _f, source_line: _l, ...input } = t;
        const state = JSON.parse(JSON.stringify(states[t.customer_key] ?? emptyCustomerState())); // as the API gets it: from JSON
        if (t.date >= cut) {
          expect({
            txn_id: t.txn_id,
            customer_key: t.customer_key,
            date: t.date,
            ...computeFeatures(input, state, store.params),
          }).toEqual(offline.get(t.txn_id));
          replayed += 1;
        }
        states[t.customer_key] = updateCustomerState(state, input);
      }
      expect(replayed).toBeGreaterThan(0);

      // Truncation: with the data cut at D, every row up to D (so every snapshot up to D) has exactly
      // the features of the full run: nothing reads a later day.
      for (const d of ['2019-09-30', '2020-01-15', '2020-04-01']) {
        const truncated = computeFeatureRows(
          lakeRows.filter((t) => t.date <= d),
          new Map(),
          store.params,
        );
        expect(truncated.length).toBeGreaterThan(1000);
        for (const r of truncated) expect(r).toEqual(offline.get(r.txn_id));
      }
      expect(JSON.parse(JSON.stringify(states))).toEqual(store.customers);

      // A second run with nothing changed writes nothing.
      const again = stage('packages/features/src/cli.ts', dir, raw);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain('rows out 0');
      // Four stage processes and three recomputations: minutes on a busy machine.
    },
    900_000,
  );
});
