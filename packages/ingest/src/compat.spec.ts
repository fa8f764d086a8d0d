import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_PARQUET_COMPRESSION, dataLayout, listPartitions, parquetColumnCodec } from '@bolsillo/core';
import { ingest, readLake, tmpDir, writeGenerated } from './ingest.test-util';
import { LAKE_SCHEMA } from './lake';

// parquetjs-lite has no type declarations; the reader API used here is tiny.
const parquet = require('parquetjs-lite') as {
  ParquetReader: {
    openFile(
      file: string,
    ): Promise<{ getCursor(): { next(): Promise<Record<string, unknown> | null> }; close(): Promise<void> }>;
  };
};

describe('lake files open in other Parquet readers', () => {
  it('parquetjs-lite and DuckDB (with the Hive date) read every partition with the same values', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    writeGenerated(raw, 'compat.csv', { rows: 1500, seed: 12, start: '2020-01-01', end: '2020-01-10' });
    await ingest(raw, data);
    const ours = readLake(data);
    const byId = new Map(ours.map((r) => [r.txn_id, r]));
    expect(ours.some((r) => r.amount === null) || ours.some((r) => r.merchant_city === null)).toBe(true);

    let n = 0;
    for (const p of listPartitions(dataLayout(data).lake)) {
      const reader = await parquet.ParquetReader.openFile(p.files[0]!);
      const cursor = reader.getCursor();
      for (let row = await cursor.next(); row; row = await cursor.next()) {
        const mine = byId.get(String(row.txn_id))!;
        // parquetjs-lite leaves nulls out of the record.
        for (const [k, v] of Object.entries(mine)) expect([k, row[k] ?? null]).toEqual([k, v]);
        n += 1;
      }
      await reader.close();
    }
    expect(n).toBe(ours.length);

    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const glob = path.join(dataLayout(data).lake, '*', '*.parquet');
    const reader = await con.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT customer_key)::INTEGER AS customers, sum(amount) AS total,
              count(*) FILTER (WHERE amount IS NULL)::INTEGER AS nulls, min(date)::VARCHAR AS first, max(date)::VARCHAR AS last
       FROM read_parquet('${glob}')`,
    );
    const [facts] = reader.getRowObjectsJS();
    const amounts = ours.filter((r) => r.amount !== null).map((r) => r.amount!);
    expect(facts).toMatchObject({
      n: ours.length,
      customers: new Set(ours.map((r) => r.customer_key)).size,
      nulls: ours.length - amounts.length,
      first: '2020-01-01',
      last: '2020-01-10',
    });
    expect(facts!.total as number).toBeCloseTo(
      amounts.reduce((s, a) => s + a, 0),
      6,
    );
    // Every column chunk carries the pipeline's codec for its column (GZIP for strings by default).
    const chunks = (
      await con.runAndReadAll(
        `SELECT DISTINCT path_in_schema AS name, compression::VARCHAR AS c FROM parquet_metadata('${glob}')`,
      )
    ).getRowObjectsJS();
    expect(chunks).toHaveLength(LAKE_SCHEMA.fields.length);
    for (const f of LAKE_SCHEMA.fields)
      expect(chunks.filter((r) => r.name === f.name).map((r) => r.c)).toEqual([
        parquetColumnCodec(DEFAULT_PARQUET_COMPRESSION, f.type),
      ]);
    con.closeSync();
    db.closeSync();
  });
});
