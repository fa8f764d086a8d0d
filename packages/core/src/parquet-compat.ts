import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';

/**
 * Codecs a Parquet file may be written with: only those parquetjs-lite (and DuckDB, parquet-wasm) read.
 * LZ4 and ZSTD are faster or smaller but parquetjs-lite cannot open them.
 */
export const PARQUET_COMPRESSIONS = ['snappy', 'uncompressed', 'gzip'] as const;
/** One of {@link PARQUET_COMPRESSIONS}. */
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

const CODECS: Readonly<Record<ParquetCompression, Compression>> = {
  snappy: Compression.SNAPPY,
  uncompressed: Compression.UNCOMPRESSED,
  gzip: Compression.GZIP,
};

/** Options of {@link compatibleWriterProperties}. */
export interface CompatibleWriterOptions {
  /** Rows per row group; default parquet-wasm's (1 048 576). */
  readonly maxRowGroupRows?: number;
  /** Codec; default `snappy`. */
  readonly compression?: ParquetCompression;
}

/**
 * Parquet writer properties every reader we care about opens, used for every Parquet file the
 * pipeline writes (lake, feature store, master table, batch predictions): format V1 data pages, no
 * dictionary encoding, Snappy (or another of {@link PARQUET_COMPRESSIONS}). parquetjs-lite cannot read dictionary pages ("invalid encoding:
 * RLE_DICTIONARY") nor V2 pages, which are parquet-wasm's defaults; DuckDB and parquet-wasm read both.
 */
export function compatibleWriterProperties(options: CompatibleWriterOptions = {}) {
  let builder = new WriterPropertiesBuilder()
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(false)
    .setCompression(codec(options.compression ?? 'snappy'));
  if (options.maxRowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.maxRowGroupRows);
  return builder.build();
}

/** Encode an Arrow table as Parquet bytes readable by parquetjs-lite, DuckDB and parquet-wasm. */
export function tableToCompatibleParquet(table: Table): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), compatibleWriterProperties());
}

function codec(compression: ParquetCompression): Compression {
  const c = CODECS[compression];
  if (c === undefined) throw new Error(`unknown Parquet compression ${String(compression)}`);
  return c;
}
