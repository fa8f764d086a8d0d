/** Reading the offline feature store into the build's input frame, with a record of every file read. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  listPartitions,
  parquetToTable,
  readParquetRowCount,
  type DataLayout,
  type DatePartition,
} from '@bolsillo/core';
import type { MasterManifest } from '@bolsillo/schema';
import { FrameBuilder, type Frame } from './frame';

/** The feature store as one frame, and the files it came from (the manifest's `inputs`). */
export interface FeatureStoreInput {
  readonly frame: Frame;
  readonly inputs: MasterManifest['inputs'];
  readonly partitions: number;
}

/** The feature store's partitions; throws when there is none. */
export function featureStorePartitions(layout: DataLayout): DatePartition[] {
  const partitions = listPartitions(layout.featureStore);
  if (partitions.length === 0)
    throw new Error(`no feature-store partitions under ${layout.featureStore} (run the features stage first)`);
  return partitions;
}

/**
 * Read the feature-store partitions. One pass per file: the bytes are hashed and decoded from the
 * same read, and each partition is converted to typed columns at once, so only one partition is
 * ever held as Arrow data. Columns are sized once from the Parquet footers, then filled in place (no
 * growing copies). Transaction ids are unique: kept as raw UTF-8, not interned (no JS string per row).
 */
export async function readFeatureStore(
  layout: DataLayout,
  partitions: readonly DatePartition[],
): Promise<FeatureStoreInput> {
  let capacity = 0;
  for (const p of partitions) for (const file of p.files) capacity += await readParquetRowCount(file);
  const builder = new FrameBuilder({ rawStrings: ['txn_id'], capacity });
  const inputs: MasterManifest['inputs'] = [];
  for (const p of partitions) {
    for (const file of p.files) {
      const bytes = fs.readFileSync(file);
      const table = parquetToTable(bytes);
      builder.append(table);
      inputs.push({
        date: p.date,
        file: path.relative(layout.root, file),
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
        rows: table.numRows,
      });
    }
  }
  return { frame: builder.finish(), inputs, partitions: partitions.length };
}
