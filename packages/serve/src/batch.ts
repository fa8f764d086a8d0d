import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { arrowSchemaFor, IsoDateSchema } from '@bolsillo/schema';
import { listPartitions, partitionDir, readParquetFile, rowsFromTable, tableFromRows, writeParquetFile } from '@bolsillo/core';
import type { ScoringModel } from './model';
import { scoreRows } from './scoring';

/** One row of `predictions/date=YYYY-MM-DD/part-0.parquet`. */
export const BatchPredictionRowSchema = Type.Object(
  {
    txn_id: Type.String({ description: 'Transaction id from the feature store.' }),
    customer_key: Type.String({ description: 'Pseudonymised customer key.' }),
    date: IsoDateSchema,
    probability: Type.Number({ minimum: 0, maximum: 1 }),
    is_revenge_spending: Type.Boolean(),
    threshold: Type.Number(),
    model_version: Type.String(),
  },
  { $id: 'BatchPredictionRow', additionalProperties: false },
);
export type BatchPredictionRow = Static<typeof BatchPredictionRowSchema>;

const BATCH_ARROW_SCHEMA = arrowSchemaFor(BatchPredictionRowSchema);

/** Pure: score feature-store rows into prediction rows with the shared scoring path. */
export function scoreFeatureRows(model: ScoringModel, version: string, rows: readonly Record<string, unknown>[]): BatchPredictionRow[] {
  const scores = scoreRows(model, rows as Record<string, unknown>[], false);
  return rows.map((r, i) => ({
    txn_id: String(r.txn_id),
    customer_key: String(r.customer_key),
    date: String(r.date),
    probability: scores[i]!.probability,
    is_revenge_spending: scores[i]!.label,
    threshold: model.threshold,
    model_version: version,
  }));
}

/** What a batch run did. */
export interface BatchSummary {
  readonly partitions: number;
  readonly rows: number;
  readonly positives: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/**
 * Score the feature-store partitions in `[from, to]` (inclusive, either open) and write one
 * `date=YYYY-MM-DD/part-0.parquet` per partition under `predictionsDir` (each written atomically).
 */
export function scorePartitions(options: {
  featureStoreDir: string;
  predictionsDir: string;
  model: ScoringModel;
  version: string;
  from?: string;
  to?: string;
  chunkRows?: number;
  onPartition?: (date: string, rows: number) => void;
}): BatchSummary {
  const t0 = performance.now();
  const partitions = listPartitions(options.featureStoreDir, { from: options.from, to: options.to });
  const chunk = options.chunkRows ?? 65_536;
  // Only the keys and the model's features are turned into row objects (the dominant cost).
  const columns = [...new Set(['txn_id', 'customer_key', 'date', ...options.model.card.features])];
  let rows = 0;
  let positives = 0;
  for (const part of partitions) {
    const out: BatchPredictionRow[] = [];
    for (const file of part.files) {
      const input = rowsFromTable<Record<string, unknown>>(readParquetFile(file, { columns }));
      for (let i = 0; i < input.length; i += chunk) out.push(...scoreFeatureRows(options.model, options.version, input.slice(i, i + chunk)));
    }
    writeParquetFile(path.join(partitionDir(options.predictionsDir, part.date), 'part-0.parquet'), tableFromRows(BATCH_ARROW_SCHEMA, out));
    rows += out.length;
    positives += out.filter((r) => r.is_revenge_spending).length;
    options.onPartition?.(part.date, out.length);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { partitions: partitions.length, rows, positives, seconds, rowsPerSecond: seconds > 0 ? rows / seconds : 0 };
}
