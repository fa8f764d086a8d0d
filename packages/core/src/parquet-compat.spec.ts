import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bool, Dictionary, Field, Float64, Int32, Schema, Utf8, tableToIPC } from 'apache-arrow';
import { Compression, ParquetFile } from 'parquet-wasm';
import {
  DEFAULT_PARQUET_COMPRESSION,
  PARQUET_COMPRESSIONS,
  ipcToCompatibleParquet,
  parquetColumnCodec,
  parquetToTable,
  readParquetFile,
  rowsFromTable,
  tableFromColumns,
  tableToCompatibleParquet,
  writeParquetBatches,
  type ParquetCompression,
} from './index';

const SCHEMA = new Schema([
  new Field('customer_key', new Utf8(), false),
  new Field('amount', new Float64(), true),
  new Field('age', new Int32(), false),
  new Field('abroad', new Bool(), false),
]);
const N = 500;
const TABLE = tableFromColumns(SCHEMA, {
  customer_key: Array.from({ length: N }, (_, i) => (i % 37).toString(16).padStart(64, '0')),
  amount: Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : i * 1.25)),
  age: Array.from({ length: N }, (_, i) => 18 + (i % 60)),
  abroad: Array.from({ length: N }, (_, i) => i % 7 === 0),
});

const NAMES: Readonly<Record<number, string>> = {
  [Compression.UNCOMPRESSED]: 'UNCOMPRESSED',
  [Compression.SNAPPY]: 'SNAPPY',
  [Compression.GZIP]: 'GZIP',
};

/** Each column's codec as the file's footer records it. */
async function codecs(bytes: Uint8Array): Promise<Record<string, string>> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pq-codec-')), 'x.parquet');
  fs.writeFileSync(file, bytes);
  const pq = await ParquetFile.fromFile(await fs.openAsBlob(file));
  try {
    const group = pq.metadata().rowGroup(0);
    return Object.fromEntries(
      group.columns().map((c) => [c.columnPath().join('.'), NAMES[c.compression()] ?? String(c.compression())]),
    );
  } finally {
    pq.free();
  }
}

describe('the pipeline’s Parquet codec setting', () => {
  it('gives GZIP to string columns and Snappy to the others by default', () => {
    expect(DEFAULT_PARQUET_COMPRESSION).toBe('gzip-strings');
    expect(SCHEMA.fields.map((f) => parquetColumnCodec('gzip-strings', f.type))).toEqual([
      'GZIP',
      'SNAPPY',
      'SNAPPY',
      'SNAPPY',
    ]);
    expect(parquetColumnCodec('gzip-strings', new Dictionary(new Utf8(), new Int32()))).toBe('GZIP');
    expect(parquetColumnCodec('snappy', new Utf8())).toBe('SNAPPY');
    expect(parquetColumnCodec('gzip', new Float64())).toBe('GZIP');
    expect(parquetColumnCodec('uncompressed', new Utf8())).toBe('UNCOMPRESSED');
    expect(() => parquetColumnCodec('zstd' as ParquetCompression, new Utf8())).toThrow(/unknown Parquet compression/);
  });

  it.each(PARQUET_COMPRESSIONS)('%s reaches every column chunk and the values come back unchanged', async (c) => {
    const bytes = tableToCompatibleParquet(TABLE, { compression: c });
    expect(await codecs(bytes)).toEqual(
      Object.fromEntries(SCHEMA.fields.map((f) => [f.name, parquetColumnCodec(c, f.type)])),
    );
    expect(rowsFromTable(parquetToTable(bytes))).toEqual(rowsFromTable(TABLE));
    // The worker path (an IPC stream) writes the very same bytes.
    expect(Buffer.from(ipcToCompatibleParquet(tableToIPC(TABLE, 'stream'), { compression: c }))).toEqual(
      Buffer.from(bytes),
    );
  });

  it('the streaming writer uses the same setting, column by column', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pq-stream-')), 'm.parquet');
    await writeParquetBatches(file, [TABLE.slice(0, 200), TABLE.slice(200)], { rowGroupRows: 128 });
    expect(await codecs(fs.readFileSync(file))).toEqual({
      customer_key: 'GZIP',
      amount: 'SNAPPY',
      age: 'SNAPPY',
      abroad: 'SNAPPY',
    });
    expect(rowsFromTable(readParquetFile(file))).toEqual(rowsFromTable(TABLE));
  });
});
