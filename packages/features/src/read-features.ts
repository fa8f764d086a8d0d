import { Table } from 'apache-arrow';
import { dataLayout, listPartitions, readParquetFile } from '@bolsillo/core';
import { FeatureRowSchema, arrowSchemaFor } from '@bolsillo/schema';

/** Which part of the offline store to read. */
export interface ReadFeaturesQuery {
  /** First date to include (ISO, inclusive); default the first partition. */
  readonly from?: string;
  /** Last date to include (ISO, inclusive); default the last partition. */
  readonly to?: string;
  /** Columns to return, in this order; default every column of the feature-row schema. */
  readonly columns?: readonly string[];
}

/**
 * Read the offline feature store as one Arrow table. Only the date partitions inside
 * `[from, to]` are opened (partition pruning) and only the requested columns are kept
 * (column projection); the result always has the columns in the order asked for, even when no
 * partition matches.
 *
 * @param dataDir the data folder (`DATA_DIR`), whose `feature-store/transactions` is read.
 * @example
 * const t = readFeatures({ from: '2019-06-01', to: '2019-06-30', columns: ['txn_id', 'hist_sum_30d'] }, 'data');
 * t.numRows; t.getChild('hist_sum_30d')?.toArray();
 */
export function readFeatures(query: ReadFeaturesQuery, dataDir: string): Table {
  const schema = arrowSchemaFor(FeatureRowSchema);
  const known = new Set(schema.fields.map((f) => f.name));
  const unknown = (query.columns ?? []).filter((c) => !known.has(c));
  if (unknown.length > 0) throw new Error(`readFeatures: unknown column(s) ${unknown.join(', ')}`);
  const columns = query.columns ? [...query.columns] : undefined;
  const partitions = listPartitions(dataLayout(dataDir).featureStore, { from: query.from, to: query.to });
  const tables = partitions.flatMap((p) => p.files.map((f) => readParquetFile(f, columns ? { columns } : {})));
  if (tables.length === 0) {
    const projected = columns ? schema.select(columns) : schema;
    return new Table(projected);
  }
  return tables.length === 1 ? tables[0]! : tables[0]!.concat(...tables.slice(1));
}
