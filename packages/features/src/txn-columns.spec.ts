import {
  DEFAULT_FEATURE_PARAMS,
  parquetToTable,
  rowsFromTable,
  tableFromRows,
  tableToCompatibleParquet,
} from '@bolsillo/core';
import { TransactionSchema, arrowSchemaFor, type FeatureRow, type Transaction } from '@bolsillo/schema';
import { syntheticTransactions } from './fixtures.test-util';
import { featureTable, featureTableFromColumns } from './feature-table';
import { computeColumnarBatch, computeFeatureRows } from './pipeline';
import { txnColumnsFromTable, type InternedColumn } from './txn-columns';

const SCHEMA = arrowSchemaFor(TransactionSchema);
const at = (c: InternedColumn, i: number) => (c.ids[i]! < 0 ? null : c.dict[c.ids[i]!]!);

describe('txnColumnsFromTable', () => {
  // Non-ASCII values, nulls, and several record batches (a partition made of more than one file).
  const txns: Transaction[] = syntheticTransactions(250, 3, 7, 20).map((t, i) =>
    i % 11 === 0 ? { ...t, merchant_city: 'São Paulo', city: 'SÃO PAULO' } : t,
  );
  const table = parquetToTable(tableToCompatibleParquet(tableFromRows(SCHEMA, txns.slice(0, 100)))).concat(
    parquetToTable(tableToCompatibleParquet(tableFromRows(SCHEMA, txns.slice(100)))),
  );

  it('reads every value of every row, strings interned from their bytes, nulls kept', () => {
    const cols = txnColumnsFromTable(table);
    expect(table.batches.length).toBeGreaterThan(1);
    expect(cols.length).toBe(txns.length);
    const back = txns.map((_, i) => ({
      customer_key: at(cols.customer_key, i),
      date: at(cols.date, i),
      city: at(cols.city, i),
      merchant_group: at(cols.merchant_group, i),
      merchant_city: at(cols.merchant_city, i),
      merchant_country: at(cols.merchant_country, i),
      source_file: at(cols.source_file, i),
      age: cols.age[i],
      source_line: cols.source_line[i],
      amount: cols.amount_valid[i] ? cols.amount[i] : null,
    }));
    expect(back).toEqual(
      txns.map((t) => ({
        customer_key: t.customer_key,
        date: t.date,
        city: t.city,
        merchant_group: t.merchant_group,
        merchant_city: t.merchant_city,
        merchant_country: t.merchant_country,
        source_file: t.source_file,
        age: t.age,
        source_line: t.source_line,
        amount: t.amount,
      })),
    );
    // Interning: one dictionary entry per distinct value.
    expect(cols.merchant_group.dict.length).toBe(new Set(txns.map((t) => t.merchant_group)).size);
    expect(cols.customer_key.dict.length).toBe(new Set(txns.map((t) => t.customer_key)).size);
  });

  it('gives the same feature table as the row path', () => {
    const cols = txnColumnsFromTable(table);
    const fast = featureTableFromColumns(cols, computeColumnarBatch(cols, new Map(), DEFAULT_FEATURE_PARAMS));
    const rows = computeFeatureRows(txns, new Map(), DEFAULT_FEATURE_PARAMS);
    expect(rowsFromTable<FeatureRow>(fast)).toEqual(rowsFromTable<FeatureRow>(featureTable(rows)));
    expect(rowsFromTable<FeatureRow>(fast)).toEqual(rows);
  });
});
