import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import {
  DEFAULT_FEATURE_PARAMS,
  ONLINE_STORE_FILE,
  computeFeatures,
  dataLayout,
  emptyCustomerState,
  listPartitions,
  partitionDir,
  readOnlineStore,
  rowsFromTable,
  sha256,
  updateCustomerState,
} from '@bolsillo/core';
import { FEATURE_NAMES, FeatureRowSchema, arrowSchemaFor, type FeatureRow, type Transaction } from '@bolsillo/schema';
import { syntheticTransactions, tempDataDir, writeLake } from './fixtures.test-util';
import { sortTransactions } from './pipeline';
import { readFeatures } from './read-features';
import { runFeatures } from './run';

const params = DEFAULT_FEATURE_PARAMS;

function storeRows(dataDir: string): FeatureRow[] {
  return rowsFromTable<FeatureRow>(readFeatures({}, dataDir));
}

function partitionHashes(dataDir: string): Record<string, string> {
  return Object.fromEntries(
    listPartitions(dataLayout(dataDir).featureStore).map((p) => [p.date, sha256(fs.readFileSync(p.files[0]!))]),
  );
}

async function freshRun(txns: readonly Transaction[]): Promise<string> {
  const dir = tempDataDir('fresh');
  writeLake(dir, txns);
  await runFeatures({ dataDir: dir, params });
  return dir;
}

describe('runFeatures (offline store)', () => {
  const txns = syntheticTransactions(400, 21, 6, 30);
  let dir: string;

  beforeAll(async () => {
    dir = tempDataDir('run');
    writeLake(dir, txns);
    const r = await runFeatures({ dataDir: dir, params });
    expect(r.rowsOut).toBe(txns.length);
  });

  it('writes one partition per lake date with the feature-row schema', () => {
    const lake = listPartitions(dataLayout(dir).lake).map((p) => p.date);
    const store = listPartitions(dataLayout(dir).featureStore);
    expect(store.map((p) => p.date)).toEqual(lake);
    const table = tableFromIPC(readParquet(fs.readFileSync(store[0]!.files[0]!)).intoIPCStream());
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(
      arrowSchemaFor(FeatureRowSchema).fields.map((f) => `${f.name}:${f.type}`),
    );
    expect(
      storeRows(dir)
        .map((r) => r.txn_id)
        .sort(),
    ).toEqual(txns.map((t) => t.txn_id).sort());
  });

  it('opens in DuckDB as a Hive-partitioned dataset with the same rows', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const glob = path.join(dataLayout(dir).featureStore, 'date=*', '*.parquet');
    const result = await conn.runAndReadAll(
      `SELECT txn_id, hist_count_30d, days_since_prev FROM read_parquet('${glob}', hive_partitioning = true) ORDER BY txn_id`,
    );
    const expected = storeRows(dir)
      .map((r) => ({ txn_id: r.txn_id, hist_count_30d: r.hist_count_30d, days_since_prev: r.days_since_prev }))
      .sort((a, b) => (a.txn_id < b.txn_id ? -1 : 1));
    expect(result.getRowObjectsJson()).toEqual(expected);
    conn.closeSync();
  });

  it('writes the same store whatever the row order inside the lake partitions', async () => {
    const reversed = await freshRun([...txns].reverse());
    expect(partitionHashes(reversed)).toEqual(partitionHashes(dir));
  });

  it('reproduces the offline rows exactly when replaying through the online path', async () => {
    // Online state as of just before 2019-06-01: an offline run over the lake truncated there.
    const cut = '2019-04-21';
    const before = await freshRun(txns.filter((t) => t.date < cut));
    const store = readOnlineStore(path.join(dataLayout(before).onlineStore, ONLINE_STORE_FILE))!;
    expect(store.as_of < cut).toBe(true);
    const customers = { ...store.customers };
    const offline = new Map(storeRows(dir).map((r) => [r.txn_id, r]));
    const replay = sortTransactions(txns.filter((t) => t.date >= cut));
    expect(replay.length).toBeGreaterThan(100);
    for (const t of replay) {
      const { txn_id: _id, source_file: _f, source_line: _l, ...input } = t;
      const state = customers[t.customer_key] ?? emptyCustomerState();
      const online: FeatureRow = {
        txn_id: t.txn_id,
        customer_key: t.customer_key,
        date: t.date,
        ...computeFeatures(input, state, store.params),
      };
      expect(online).toEqual(offline.get(t.txn_id));
      customers[t.customer_key] = updateCustomerState(state, input);
    }
    // And the final online store equals the replayed states.
    const final = readOnlineStore(path.join(dataLayout(dir).onlineStore, ONLINE_STORE_FILE))!;
    expect(final.customers).toEqual(JSON.parse(JSON.stringify(customers)));
  });

  it('rebuilds a lost online store without rewriting any partition', async () => {
    const file = path.join(dataLayout(dir).onlineStore, ONLINE_STORE_FILE);
    const expected = readOnlineStore(file);
    const before = partitionHashes(dir);
    fs.rmSync(file);
    const r = await runFeatures({ dataDir: dir, params });
    expect(r.partitionsWritten).toBe(0);
    expect(readOnlineStore(file)).toEqual(expected);
    expect(partitionHashes(dir)).toEqual(before);
  });

  it('recomputes nothing on an unchanged lake', async () => {
    const before = partitionHashes(dir);
    const r = await runFeatures({ dataDir: dir, params });
    expect(r).toMatchObject({ partitionsWritten: 0, rowsOut: 0, from: null });
    expect(partitionHashes(dir)).toEqual(before);
  });
});

describe('runFeatures (incremental)', () => {
  const txns = syntheticTransactions(200, 31, 4, 16);
  const dates = [...new Set(txns.map((t) => t.date))].sort();

  it('on an append, writes only the new days (resuming from the online store) and matches a full run', async () => {
    const dir = tempDataDir('append');
    const cut = dates[11]!;
    writeLake(
      dir,
      txns.filter((t) => t.date < cut),
    );
    await runFeatures({ dataDir: dir, params });
    const old = partitionHashes(dir);
    writeLake(
      dir,
      txns.filter((t) => t.date >= cut),
    );
    const r = await runFeatures({ dataDir: dir, params });
    expect(r.from).toBe(cut);
    expect(r.partitionsWritten).toBe(dates.length - 11);
    expect(r.rowsIn).toBe(txns.filter((t) => t.date >= cut).length); // earlier partitions were not even read
    const now = partitionHashes(dir);
    for (const d of Object.keys(old)) expect(now[d]).toBe(old[d]);
    expect(now).toEqual(partitionHashes(await freshRun(txns)));
  });

  it('on a changed day, rewrites that day and every later one (look-forward impact) and matches a full run', async () => {
    const dir = await freshRun(txns);
    const changedDate = dates[5]!;
    const changed = txns.map((t) => (t.date === changedDate ? { ...t, amount: (t.amount ?? 0) + 1000 } : t));
    fs.rmSync(partitionDir(dataLayout(dir).lake, changedDate), { recursive: true });
    writeLake(
      dir,
      changed.filter((t) => t.date === changedDate),
    );
    const before = partitionHashes(dir);
    const r = await runFeatures({ dataDir: dir, params });
    expect(r.from).toBe(changedDate);
    expect(r.partitionsWritten).toBe(dates.length - 5);
    const after = partitionHashes(dir);
    for (const d of dates.filter((x) => x < changedDate)) expect(after[d]).toBe(before[d]);
    // A later day inside the 30-day window really changed (its history features saw the new amounts).
    expect(dates.filter((d) => d > changedDate).some((d) => after[d] !== before[d])).toBe(true);
    expect(after).toEqual(partitionHashes(await freshRun(changed)));
  });

  it('on a removed day, deletes its partition and matches a full run', async () => {
    const dir = await freshRun(txns);
    const gone = dates[7]!;
    fs.rmSync(partitionDir(dataLayout(dir).lake, gone), { recursive: true });
    const r = await runFeatures({ dataDir: dir, params });
    expect(r).toMatchObject({ from: dates[8], partitionsRemoved: 1 });
    expect(partitionHashes(dir)).toEqual(partitionHashes(await freshRun(txns.filter((t) => t.date !== gone))));
  });

  it('recomputes everything when the params change', async () => {
    const dir = await freshRun(txns);
    const r = await runFeatures({ dataDir: dir, params: { ...params, essentialGroups: ['VESTUARIO'] } });
    expect(r.partitionsWritten).toBe(dates.length);
    expect(
      storeRows(dir)
        .filter((x) => x.merchant_group === 'VESTUARIO')
        .every((x) => x.is_essential),
    ).toBe(true);
  });
});

describe('readFeatures', () => {
  const txns = syntheticTransactions(120, 41, 3, 12);
  let dir: string;
  beforeAll(async () => {
    dir = await freshRun(txns);
  });

  it('prunes partitions by date and projects columns in the order asked', () => {
    const t = readFeatures({ from: '2019-04-04', to: '2019-04-08', columns: ['hist_sum_30d', 'date'] }, dir);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['hist_sum_30d', 'date']);
    const rows = rowsFromTable<{ date: string }>(t);
    expect(rows.length).toBe(txns.filter((x) => x.date >= '2019-04-04' && x.date <= '2019-04-08').length);
    expect(rows.every((r) => r.date >= '2019-04-04' && r.date <= '2019-04-08')).toBe(true);
  });

  it('returns an empty table with the requested schema when no partition matches, and rejects unknown columns', () => {
    const t = readFeatures({ from: '2030-01-01', columns: ['txn_id', 'amount'] }, dir);
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['txn_id', 'amount']);
    expect(() => readFeatures({ columns: ['nope'] }, dir)).toThrow(/unknown column/);
    expect(readFeatures({}, dir).schema.fields.map((f) => f.name)).toEqual([
      'txn_id',
      'customer_key',
      'date',
      ...FEATURE_NAMES,
    ]);
  });
});
