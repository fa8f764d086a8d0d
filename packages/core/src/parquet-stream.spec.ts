import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { parquetToTable, readParquetFile, rowsFromTable, tableFromColumns } from './parquet';
import { forEachParquetBatch, writeParquetBatches } from './parquet-stream';
import { readParquetRowCount } from './parquet-row-count';
import { parquetFileSet } from './parquet-set';

// parquetjs-lite has no type declarations; the reader API used here is tiny.
const parquet = require('parquetjs-lite') as {
  ParquetReader: {
    openFile(file: string): Promise<{
      metadata: { row_groups: unknown[] };
      getCursor(): { next(): Promise<Record<string, unknown> | null> };
      close(): Promise<void>;
    }>;
  };
};

describe('writeParquetBatches', () => {
  const schema = new Schema([
    new Field('id', new Utf8(), false),
    new Field('n', new Int32(), false),
    new Field('x', new Float64(), true),
  ]);
  function* chunks(count: number, rows: number) {
    for (let c = 0; c < count; c++) {
      const ids = Array.from({ length: rows }, (_, i) => `t${c}-${i}`);
      yield tableFromColumns(schema, {
        id: ids,
        n: ids.map((_, i) => c * rows + i),
        x: ids.map((_, i) => (i % 7 === 0 ? null : i / 3)),
      });
    }
  }

  it('writes every chunk in order, in row groups, and the same content whatever the row-group size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-write-stream-'));
    const a = path.join(dir, 'a.parquet');
    const b = path.join(dir, 'b.parquet');
    expect(await writeParquetBatches(a, chunks(5, 1000), { rowGroupRows: 1000 })).toBe(5000);
    await writeParquetBatches(b, chunks(5, 1000), { rowGroupRows: 2500 });
    const rows = rowsFromTable<{ id: string; n: number; x: number | null }>(readParquetFile(a));
    expect(rowsFromTable(readParquetFile(b))).toEqual(rows);
    expect(rows).toHaveLength(5000);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(rows[1001]).toEqual({ id: 't1-1', n: 1001, x: 1 / 3 });
    expect(rows[7]!.x).toBeNull();
    expect(fs.readdirSync(dir).sort()).toEqual(['a.parquet', 'b.parquet']);
  });

  it('splits a table into continuation files of fileRows rows that every core reader reads as one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-write-set-'));
    const file = path.join(dir, 'master.parquet');
    const whole = path.join(dir, 'whole.parquet');
    await writeParquetBatches(whole, chunks(5, 1000));
    const expected = rowsFromTable(readParquetFile(whole));
    // 1,700 rows a file: chunks are split across files, the last file holds the rest.
    expect(await writeParquetBatches(file, chunks(5, 1000), { fileRows: 1700, rowGroupRows: 500 })).toBe(5000);
    const files = parquetFileSet(file);
    expect(files.map((f) => path.basename(f))).toEqual(['master.parquet', 'master.1.parquet', 'master.2.parquet']);
    expect(files.map((f) => parquetToTable(fs.readFileSync(f)).numRows)).toEqual([1700, 1700, 1600]);
    expect(rowsFromTable(readParquetFile(file))).toEqual(expected);
    expect(await readParquetRowCount(file)).toBe(5000);
    const streamed: number[] = [];
    const read = await forEachParquetBatch(file, { columns: ['n'], batchSize: 300 }, (t) => {
      streamed.push(...(t.getChild('n')!.toArray() as Int32Array));
    });
    expect(read).toBe(5000);
    expect(streamed).toEqual(expected.map((r) => r['n']));
    // Exactly full files leave no empty continuation behind.
    await writeParquetBatches(file, chunks(5, 1000), { fileRows: 2500 });
    expect(parquetFileSet(file).map((f) => path.basename(f))).toEqual(['master.parquet', 'master.1.parquet']);
    expect(rowsFromTable(readParquetFile(file))).toEqual(expected);
    // A shorter table written over a longer one removes the continuations it no longer has.
    await writeParquetBatches(file, chunks(5, 1000));
    expect(fs.readdirSync(dir).sort()).toEqual(['master.parquet', 'whole.parquet']);
    expect(rowsFromTable(readParquetFile(file))).toEqual(expected);
    await expect(writeParquetBatches(file, chunks(1, 10), { fileRows: 0 })).rejects.toThrow(
      'fileRows must be at least 1',
    );
  });

  it('writes files that parquetjs-lite reads, row group after row group', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-write-compat-'));
    const file = path.join(dir, 'a.parquet');
    await writeParquetBatches(file, chunks(3, 1000), { rowGroupRows: 1200 });
    const expected = rowsFromTable<{ id: string; n: number; x: number | null }>(readParquetFile(file));
    const reader = await parquet.ParquetReader.openFile(file);
    expect(reader.metadata.row_groups).toHaveLength(3);
    const got: Record<string, unknown>[] = [];
    const cursor = reader.getCursor();
    for (let row = await cursor.next(); row; row = await cursor.next()) got.push({ x: null, ...row });
    await reader.close();
    expect(got).toEqual(expected);
  });
});

describe('readParquetRowCount', () => {
  it('reads the row count from the footer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-rows-'));
    const file = path.join(dir, 'x.parquet');
    const schema = new Schema([new Field('n', new Int32(), false)]);
    await writeParquetBatches(
      file,
      [tableFromColumns(schema, { n: [1, 2, 3] }), tableFromColumns(schema, { n: [4, 5] })],
      { rowGroupRows: 2 },
    );
    expect(await readParquetRowCount(file)).toBe(5);
  });
});
