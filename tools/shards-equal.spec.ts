/**
 * Issue 20's must-show as a test: on the real file, ingest, features and build in 4 shards + merge
 * (tools/run-sharded.js, as the cluster runs them) give the lake, feature store and master table rows
 * (as multisets), the online store and the build reports of one process (tools/shard-compare.ts;
 * bench/shards-equal.ts does the same on any file and writes docs/bench-shards.md). Also: the
 * comparison itself finds a changed, a missing and a duplicated row.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { tableFromRows, writeParquetFile } from '@bolsillo/core';
import { itRealData, realDataPath } from '@bolsillo/testing';
import { compareDataDirs, compareMultisets, comparableJson, firstDifference, parquetRows } from './shard-compare';

const { runSharded } = require('./run-sharded') as {
  runSharded: (o: { shards: number; env: NodeJS.ProcessEnv; stages: string[] }) => Promise<{
    code: number;
    stages: Map<string, { status: string; error?: string }>;
  }>;
};

const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-shards-equal-${label}-`));
const schema = new Schema([new Field('customer_key', new Utf8(), true), new Field('amount', new Float64(), true)]);

function parquet(dir: string, name: string, rows: { customer_key: string; amount: number | null }[]): string {
  const file = path.join(dir, name);
  writeParquetFile(file, tableFromRows(schema, rows));
  return file;
}

describe('comparing data as multisets of rows', () => {
  const rows = [
    { customer_key: 'a', amount: 1.5 },
    { customer_key: 'b', amount: null },
    { customer_key: 'a', amount: 1.5 },
    { customer_key: 'c', amount: 0.1 },
  ];

  it('the same rows split into other part files and order are equal', async () => {
    const dir = tmp('multiset');
    const whole = await parquetRows([parquet(dir, 'one.parquet', rows)]);
    const parts = await parquetRows([
      parquet(dir, 'part-0.parquet', [rows[3]!, rows[0]!]),
      parquet(dir, 'part-1.parquet', [rows[2]!, rows[1]!]),
    ]);
    expect(compareMultisets(whole, parts)).toEqual({
      equal: true,
      rowsA: 4,
      rowsB: 4,
      distinct: 3,
      onlyA: 0,
      onlyB: 0,
      columnsEqual: true,
    });
  });

  it('finds a changed value, a missing row and a duplicate row', async () => {
    const dir = tmp('multiset-diff');
    const whole = await parquetRows([parquet(dir, 'one.parquet', rows)]);
    const changed = await parquetRows([
      parquet(dir, 'c.parquet', [...rows.slice(0, 3), { customer_key: 'c', amount: 0.1000000001 }]),
    ]);
    expect(compareMultisets(whole, changed)).toMatchObject({ equal: false, onlyA: 1, onlyB: 1 });
    const missing = await parquetRows([parquet(dir, 'm.parquet', rows.slice(1))]);
    expect(compareMultisets(whole, missing)).toMatchObject({ equal: false, rowsB: 3, onlyA: 1, onlyB: 0 });
    // Same distinct rows, but one of the duplicates is now a second copy of another row.
    const duplicated = await parquetRows([parquet(dir, 'd.parquet', [...rows.slice(1), rows[1]!])]);
    expect(compareMultisets(whole, duplicated)).toMatchObject({ equal: false, rowsB: 4, onlyA: 1, onlyB: 1 });
  });

  it('compares reports without their timestamps and names the first difference', () => {
    const a = { generated_at: '2026-01-01', auc: 0.81, folds: [{ n: 3 }], updated_at: 'x' };
    const b = { auc: 0.81, folds: [{ n: 3 }], generated_at: '2026-12-03' };
    expect(firstDifference(comparableJson(a), comparableJson(b))).toBeNull();
    expect(firstDifference(comparableJson(a), comparableJson({ ...b, folds: [{ n: 4 }] }))).toBe(
      '$.folds[0].n: 3 vs 4',
    );
    expect(firstDifference({ k: [1, 2] }, { k: [1] })).toBe('$.k: 2 items vs 1');
    expect(firstDifference(comparableJson({ sha256: 'x', n: 1 }, new Set(['sha256'])), { n: 1 })).toBeNull();
  });
});

itRealData(
  'on the real file: ingest, features and build in 4 shards + merge equal one process',
  async () => {
    const raw = tmp('real-raw');
    fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
    const one = tmp('real-one');
    const four = tmp('real-four');
    const stages = ['ingest', 'features', 'build'];
    // The stages' own output would drown the test report.
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      for (const [shards, dataDir] of [
        [1, one],
        [4, four],
      ] as const) {
        const r = await runSharded({ shards, env: { ...process.env, RAW_DIR: raw, DATA_DIR: dataDir }, stages });
        expect([...r.stages.values()].map((s) => s.error ?? s.status)).toEqual(['ok', 'ok', 'ok']);
      }
    } finally {
      process.stdout.write = write;
    }
    const checks = await compareDataDirs(one, four, 'build');
    expect(checks.filter((c) => !c.equal)).toEqual([]);
    expect(checks.map((c) => c.what)).toEqual(
      expect.arrayContaining([
        'lake rows',
        'feature store rows',
        'online store files',
        'master table rows',
        'master selection.json',
        'master leakage.json',
        'master quality.json',
        'master profile.json',
        'master splits.json',
      ]),
    );
    expect(checks.find((c) => c.what === 'lake rows')!.detail).toMatch(/^4955 rows/);
  },
  // Six stage runs, 15 processes in all: slow on a loaded shared machine.
  2_400_000,
);
