import {
  DEFAULT_FEATURE_PARAMS,
  rowsFromTable,
  tableFromRows,
  tableToCompatibleParquet,
  parquetToTable,
} from '@bolsillo/core';
import { FeatureRowSchema, arrowSchemaFor, type FeatureRow } from '@bolsillo/schema';
import { syntheticTransactions } from './fixtures.test-util';
import { featureTable } from './feature-table';
import { computeFeatureRows } from './pipeline';

describe('featureTable', () => {
  it('builds the same table as the generic builder, nulls included, and survives a Parquet round trip', () => {
    const rows = computeFeatureRows(syntheticTransactions(300, 5), new Map(), DEFAULT_FEATURE_PARAMS);
    expect(
      rows.some((r) => r.amount === null && r.available_ratio === null) || rows.some((r) => r.amount === null),
    ).toBe(true);
    const fast = featureTable(rows);
    const generic = tableFromRows(arrowSchemaFor(FeatureRowSchema), rows);
    expect(fast.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(
      generic.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`),
    );
    expect(rowsFromTable<FeatureRow>(fast)).toEqual(rows);
    expect(rowsFromTable<FeatureRow>(parquetToTable(tableToCompatibleParquet(fast)))).toEqual(rows);
  });

  it('handles an empty batch', () => {
    expect(featureTable([]).numRows).toBe(0);
  });
});
