import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_PARQUET_COMPRESSION, parquetColumnCodec, readParquetFile, rowsFromTable } from '@bolsillo/core';
import type { MasterRow } from '@bolsillo/schema';
import { generateFeatureRows, writeFeatureStore } from './fixtures.test-util';
import { runBuild } from './run';

// parquetjs-lite has no type declarations; the reader API used here is tiny.
const parquet = require('parquetjs-lite') as {
  ParquetReader: {
    openFile(
      file: string,
    ): Promise<{ getCursor(): { next(): Promise<Record<string, unknown> | null> }; close(): Promise<void> }>;
  };
};

describe('the master table opens in other Parquet readers', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-compat-'));
  const rows = generateFeatureRows({ customers: 12, perCustomer: 20, seed: 3 });
  writeFeatureStore(dataDir, rows);
  const asOf = rows
    .map((r) => r.date)
    .sort()
    .at(-1)!;
  let file: string;
  let ours: MasterRow[];

  beforeAll(async () => {
    const built = await runBuild({ dataDir, asOf });
    file = path.join(built.dir, 'master.parquet');
    ours = rowsFromTable<MasterRow>(readParquetFile(file));
    // One master row per snapshot whose forecast horizon ends inside the data.
    expect(ours).toHaveLength(built.rowsOut);
    expect(ours.length).toBeGreaterThan(100);
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('parquetjs-lite reads every row with the same values as apache-arrow', async () => {
    const byId = new Map(ours.map((r) => [r.txn_id, r]));
    const reader = await parquet.ParquetReader.openFile(file);
    const cursor = reader.getCursor();
    let n = 0;
    for (let row = await cursor.next(); row; row = await cursor.next()) {
      const mine = byId.get(String(row.txn_id))!;
      // parquetjs-lite leaves nulls out of the record and gives 64-bit integers as numbers.
      for (const [k, v] of Object.entries(mine))
        expect([k, row[k] ?? null]).toEqual([k, typeof v === 'bigint' ? Number(v) : v]);
      n += 1;
    }
    await reader.close();
    expect(n).toBe(ours.length);
  });

  it('DuckDB reads it with the same values, and no column chunk is dictionary-encoded', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const got = (
      await con.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY txn_id`)
    ).getRowObjectsJS() as Record<string, unknown>[];
    const sorted = [...ours].sort((a, b) => (a.txn_id < b.txn_id ? -1 : 1));
    expect(got).toHaveLength(sorted.length);
    for (const [i, row] of got.entries()) {
      for (const [k, v] of Object.entries(sorted[i]!))
        expect([k, row[k] ?? null]).toEqual([k, typeof v === 'bigint' ? Number(v) : v]);
    }
    const chunks = (
      await con.runAndReadAll(
        `SELECT path_in_schema AS name, encodings::VARCHAR AS e, compression::VARCHAR AS c FROM parquet_metadata('${file}')`,
      )
    ).getRowObjectsJS();
    expect(chunks.some((r) => String(r.e).includes('DICTIONARY'))).toBe(false);
    // The pipeline's codec setting, column by column (string columns and the others differ under the default).
    const types = new Map(readParquetFile(file).schema.fields.map((f) => [f.name, f.type]));
    for (const r of chunks)
      expect([r.name, r.c]).toEqual([
        r.name,
        parquetColumnCodec(DEFAULT_PARQUET_COMPRESSION, types.get(String(r.name))!),
      ]);
    expect(new Set(chunks.map((r) => r.c)).size).toBeGreaterThan(1);
    con.closeSync();
    db.closeSync();
  });
});
