import type { FeatureColumnsArrays, ParquetCompression } from '@bolsillo/core';
import type { FeatureKeyColumns } from './feature-table';
import type { TxnColumns } from './txn-columns';

/** What a Parquet thread is started with. */
export interface ParquetThreadData {
  readonly compression: ParquetCompression;
}

/** Channel names of a Parquet thread (one request type each). */
export const PARQUET_THREAD_CHANNELS = {
  readColumns: 'lake read',
  writeFeatures: 'feature write',
  cpuSeconds: 'thread cpu',
} as const;

/** Decode the files of a lake partition into the kernel's columns; with `hash`, also each file's sha256. */
export interface ReadColumnsRequest {
  readonly files: readonly string[];
  readonly hash: boolean;
}

/**
 * The partition's columns. customer_key ids are the thread's for its whole life: only the customers new to
 * the thread travel (`added`), the main thread keeps the full dictionary.
 */
export interface ReadColumnsReply {
  readonly cols: Omit<TxnColumns, 'customer_key'> & { readonly customer_key: { ids: Int32Array; added: string[] } };
  readonly fileSha256: string[] | null;
}

/**
 * Build a computed batch's feature-row table, encode it and write it atomically to `file`. `spent`: the
 * partition's other arrays, moved along for the thread to reuse.
 */
export interface WriteFeaturesRequest {
  readonly file: string;
  readonly order: Int32Array;
  readonly keys: FeatureKeyColumns;
  readonly values: Float64Array[];
  readonly valid: Uint8Array[];
  readonly codes: Int32Array[];
  readonly dicts: (readonly string[])[];
  readonly spent: (Int32Array | Float64Array | Uint8Array)[];
}

/** The sink's arrays, moved back to be written into again. */
export interface WriteFeaturesReply {
  readonly recycled: FeatureColumnsArrays;
}
