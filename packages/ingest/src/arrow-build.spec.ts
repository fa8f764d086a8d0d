import { rowsFromTable, tableFromColumns, tableToCompatibleParquet, parquetToTable } from '@bolsillo/core';
import { buildTable } from './arrow-build';
import { LAKE_SCHEMA } from './lake';

describe('buildTable', () => {
  it('builds the same table as the generic builder, nulls and non-ASCII included, and survives Parquet', () => {
    const cols: Record<string, unknown[]> = {};
    for (const f of LAKE_SCHEMA.fields) cols[f.name] = [];
    const rows = [
      {
        txn_id: 'a.csv#2',
        customer_key: 'f'.repeat(64),
        account_cohort: '201405',
        city: 'SÃO PAULO',
        state: 'SP',
        age: 37,
        sex: 'F',
        credit_limit: 4700,
        available_limit: 5605,
        date: '2019-12-04',
        amount: 1784.13,
        merchant_group: 'SERVIÇO',
        merchant_city: null,
        merchant_country: 'BR',
        source_file: 'a.csv',
        source_line: 2,
      },
      {
        txn_id: 'a.csv#3',
        customer_key: 'e'.repeat(64),
        account_cohort: '201901',
        city: 'OSASCO',
        state: 'SP',
        age: 20,
        sex: 'M',
        credit_limit: 0,
        available_limit: 2147483647,
        date: '2019-12-04',
        amount: null,
        merchant_group: 'AUTO PEÇAS',
        merchant_city: 'LIMA',
        merchant_country: null,
        source_file: 'a.csv',
        source_line: 3,
      },
    ];
    for (const r of rows)
      for (const f of LAKE_SCHEMA.fields) cols[f.name]!.push((r as Record<string, unknown>)[f.name]);
    const fast = buildTable(LAKE_SCHEMA, cols);
    const generic = tableFromColumns(LAKE_SCHEMA, cols);
    expect(rowsFromTable(fast)).toEqual(rows);
    expect(rowsFromTable(fast)).toEqual(rowsFromTable(generic));
    expect(fast.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(
      generic.schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
    );
    expect(rowsFromTable(parquetToTable(tableToCompatibleParquet(fast)))).toEqual(rows);
  });
});
