import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  DEFAULT_FEATURE_PARAMS,
  PARQUET_COMPRESSIONS,
  dataLayout,
  listPartitions,
  parquetColumnCodec,
  rowsFromTable,
} from '@bolsillo/core';
import { FEATURE_NAMES, FeatureRowSchema, arrowSchemaFor, type FeatureRow } from '@bolsillo/schema';
import { readFeatures } from './read-features';
import { runFeatures } from './run';
import { syntheticTransactions, tempDataDir, writeLake } from './fixtures.test-util';

// parquetjs-lite has no type declarations; the reader API used here is tiny.
const parquet = require('parquetjs-lite') as {
  ParquetReader: {
    openFile(
      file: string,
    ): Promise<{ getCursor(): { next(): Promise<Record<string, unknown> | null> }; close(): Promise<void> }>;
  };
};

describe.each(PARQUET_COMPRESSIONS)(
  'feature-store partitions written with %s open in other Parquet readers',
  (compression) => {
    const txns = syntheticTransactions(300, 31, 5, 12);
    let dir: string;
    let ours: FeatureRow[];

    beforeAll(async () => {
      dir = tempDataDir(`compat-${compression}`);
      writeLake(dir, txns);
      await runFeatures({ dataDir: dir, params: DEFAULT_FEATURE_PARAMS, compression });
      ours = rowsFromTable<FeatureRow>(readFeatures({}, dir));
      expect(ours).toHaveLength(txns.length);
    });

    it('parquetjs-lite reads every partition with the same values as apache-arrow', async () => {
      const byId = new Map(ours.map((r) => [r.txn_id, r]));
      let n = 0;
      for (const p of listPartitions(dataLayout(dir).featureStore)) {
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
    });

    it('DuckDB reads the Hive-partitioned store with the same values', async () => {
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      const glob = path.join(dataLayout(dir).featureStore, 'date=*', '*.parquet');
      const result = await conn.runAndReadAll(
        `SELECT * EXCLUDE (date) FROM read_parquet('${glob}', hive_partitioning = true) ORDER BY txn_id`,
      );
      const got = result.getRowObjectsJS() as Record<string, unknown>[];
      // The option really reaches the files: every column chunk carries its column's codec under the setting.
      const codecs = await conn.runAndReadAll(
        `SELECT DISTINCT path_in_schema AS name, compression::VARCHAR AS c FROM parquet_metadata('${glob}')`,
      );
      const types = new Map(arrowSchemaFor(FeatureRowSchema).fields.map((f) => [f.name, f.type]));
      const chunks = codecs.getRowObjectsJS();
      expect(chunks).toHaveLength(types.size);
      for (const r of chunks)
        expect([r.name, r.c]).toEqual([r.name, parquetColumnCodec(compression, types.get(String(r.name))!)]);
      const sorted = [...ours].sort((a, b) => (a.txn_id < b.txn_id ? -1 : 1));
      expect(got).toHaveLength(sorted.length);
      for (const [i, row] of got.entries()) {
        for (const name of ['txn_id', 'customer_key', ...FEATURE_NAMES] as const) {
          expect([name, row[name] ?? null]).toEqual([
            name,
            (sorted[i] as unknown as Record<string, unknown>)[name] ?? null,
          ]);
        }
      }
      conn.closeSync();
      db.closeSync();
    });
  },
);
