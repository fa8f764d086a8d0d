import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TransactionSchema, arrowSchemaFor } from '@bolsillo/schema';
import { readParquetFile, rowsFromTable, tableFromRows, writeParquetFile } from './index';

describe('Parquet I/O', () => {
  it('round-trips typed rows with nulls through a Parquet file, with column projection', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-'));
    const schema = arrowSchemaFor(TransactionSchema);
    const rows = [0, 1, 2].map((i) => ({
      txn_id: `f.csv#${i + 2}`,
      customer_key: String(i).repeat(64),
      account_cohort: '201405',
      city: 'SANTOS',
      state: 'SP',
      age: 30 + i,
      sex: i % 2 ? 'M' : 'F',
      credit_limit: 1000,
      available_limit: 100 * i,
      date: '2019-04-0' + (i + 1),
      amount: i === 1 ? null : 10.5 * i,
      merchant_group: 'SERVIÇO',
      merchant_city: null,
      merchant_country: 'BR',
      source_file: 'f.csv',
      source_line: i + 2,
    }));
    const file = path.join(dir, 'date=2019-04-01', 'part-0.parquet');
    writeParquetFile(file, tableFromRows(schema, rows));
    const back = readParquetFile(file);
    expect(back.schema.fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    expect(rowsFromTable(back)).toEqual(rows);
    const projected = readParquetFile(file, { columns: ['age', 'amount'] });
    expect(rowsFromTable(projected)).toEqual(rows.map((r) => ({ age: r.age, amount: r.amount })));
    expect(fs.readdirSync(path.dirname(file))).toEqual(['part-0.parquet']);
  });
});
