import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  parquetToTable,
  rowsFromTable,
  sha256,
  tableFromRows,
  writeParquetFile,
} from '@bolsillo/core';
import { TransactionSchema, arrowSchemaFor, type Transaction } from '@bolsillo/schema';
import { featureTable, featureTableFromColumns } from './feature-table';
import { syntheticTransactions, tempDataDir } from './fixtures.test-util';
import { ParquetWorker } from './parquet-worker';
import { computeColumnarBatch, computeFeatureRows } from './pipeline';
import { txnColumnsFromTable, utf8At, type InternedColumn, type TxnColumns } from './txn-columns';

const SCHEMA = arrowSchemaFor(TransactionSchema);
const STRINGS = [
  'customer_key',
  'date',
  'account_cohort',
  'city',
  'state',
  'sex',
  'merchant_group',
  'merchant_city',
  'merchant_country',
  'source_file',
] as const;
const NUMBERS = ['age', 'credit_limit', 'available_limit', 'source_line', 'amount', 'amount_valid'] as const;
const at = (c: InternedColumn, i: number) => (c.ids[i]! < 0 ? null : c.dict[c.ids[i]!]!);

/** Every value of every row, decoded (so columns interned differently compare equal when they hold the same data). */
function decoded(cols: TxnColumns): unknown[] {
  return Array.from({ length: cols.length }, (_, i) => ({
    ...Object.fromEntries(STRINGS.map((k) => [k, at(cols[k], i)])),
    ...Object.fromEntries(NUMBERS.map((k) => [k, k === 'amount' && !cols.amount_valid[i] ? null : cols[k][i]])),
    txn_id: utf8At(cols.txn_id, i),
    customer_key_bytes: utf8At(cols.customer_key_bytes, i),
    date_bytes: utf8At(cols.date_bytes, i),
  }));
}

describe('ParquetWorker columns', () => {
  const dir = tempDataDir('worker');
  // Non-ASCII values and nulls; a partition of two files (read as one batch).
  const txns: Transaction[] = syntheticTransactions(400, 5, 9, 3).map((t, i) =>
    i % 13 === 0 ? { ...t, merchant_city: 'São Paulo', city: 'SÃO PAULO' } : t,
  );
  const files = [path.join(dir, 'a.parquet'), path.join(dir, 'b.parquet'), path.join(dir, 'c.parquet')];
  writeParquetFile(files[0]!, tableFromRows(SCHEMA, txns.slice(0, 150)));
  writeParquetFile(files[1]!, tableFromRows(SCHEMA, txns.slice(150, 300)));
  writeParquetFile(files[2]!, tableFromRows(SCHEMA, txns.slice(300)));
  const tableOf = (fs_: string[]) => {
    const ts = fs_.map((f) => parquetToTable(fs.readFileSync(f)));
    return ts.length === 1 ? ts[0]! : ts[0]!.concat(...ts.slice(1));
  };
  let worker: ParquetWorker;
  // The default codec setting, as writeParquetFile's, so the bytes compare.
  beforeAll(() => (worker = new ParquetWorker()));
  afterAll(async () => {
    await worker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decodes a partition into the same columns as txnColumnsFromTable, customer ids stable across partitions', async () => {
    const { cols: first } = await worker.readColumns(files.slice(0, 2));
    expect(decoded(first)).toEqual(decoded(txnColumnsFromTable(tableOf(files.slice(0, 2)))));
    expect(first.merchant_group.dict.length).toBe(new Set(txns.slice(0, 300).map((t) => t.merchant_group)).size);
    const seen = first.customer_key.dict.length;
    expect(seen).toBe(new Set(txns.slice(0, 300).map((t) => t.customer_key)).size);
    const { cols: second } = await worker.readColumns(files.slice(2));
    expect(decoded(second)).toEqual(decoded(txnColumnsFromTable(tableOf(files.slice(2)))));
    // The thread's customer dictionary only grows: ids given before keep their meaning.
    expect(second.customer_key.dict.slice(0, seen)).toEqual(first.customer_key.dict.slice(0, seen));
    expect(new Set(second.customer_key.dict).size).toBe(second.customer_key.dict.length);
  });

  it('hashes the files it reads when asked (what a full recompute records in the manifest)', async () => {
    const hashed = await worker.readColumns(files.slice(0, 2), true);
    expect(hashed.fileSha256).toEqual(files.slice(0, 2).map((f) => sha256(fs.readFileSync(f))));
    expect(decoded(hashed.cols)).toEqual(decoded(txnColumnsFromTable(tableOf(files.slice(0, 2)))));
    expect((await worker.readColumns(files.slice(2), false)).fileSha256).toBeNull();
  });

  it('writes the same Parquet bytes from the kernel arrays as the main thread from feature rows', async () => {
    const viaRows = path.join(dir, 'out', 'rows.parquet');
    const viaTextColumns = path.join(dir, 'out', 'text-columns.parquet');
    const viaThread = path.join(dir, 'out', 'thread.parquet');
    const rows = computeFeatureRows(rowsFromTable<Transaction>(tableOf(files)), new Map(), DEFAULT_FEATURE_PARAMS);
    writeParquetFile(viaRows, featureTable(rows));
    const a = txnColumnsFromTable(tableOf(files));
    writeParquetFile(
      viaTextColumns,
      featureTableFromColumns(a, computeColumnarBatch(a, new Map(), DEFAULT_FEATURE_PARAMS)),
    );
    const { cols: b } = await worker.readColumns(files);
    const batch = computeColumnarBatch(b, new Map(), DEFAULT_FEATURE_PARAMS, { categoryCodes: true });
    await worker.writeFeatures(viaThread, b, batch);
    expect(batch.order.length).toBe(0); // transferred to the thread
    expect(Buffer.compare(fs.readFileSync(viaThread), fs.readFileSync(viaRows))).toBe(0);
    expect(Buffer.compare(fs.readFileSync(viaTextColumns), fs.readFileSync(viaRows))).toBe(0);
  });
});
