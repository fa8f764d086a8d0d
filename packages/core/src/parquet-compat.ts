import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';

/** Options of {@link compatibleWriterProperties}. */
export interface CompatibleWriterOptions {
  /** Rows per row group; default parquet-wasm's (1 048 576). */
  readonly maxRowGroupRows?: number;
}

/**
 * Parquet writer properties every reader we care about opens, used for every Parquet file the
 * pipeline writes (lake, feature store, master table, batch predictions): format V1 data pages, no
 * dictionary encoding, Snappy. parquetjs-lite cannot read dictionary pages ("invalid encoding:
 * RLE_DICTIONARY") nor V2 pages, which are parquet-wasm's defaults; DuckDB and parquet-wasm read both.
 */
export function compatibleWriterProperties(options: CompatibleWriterOptions = {}) {
  let builder = new WriterPropertiesBuilder()
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(false)
    .setCompression(Compression.SNAPPY);
  if (options.maxRowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.maxRowGroupRows);
  return builder.build();
}

/** Encode an Arrow table as Parquet bytes readable by parquetjs-lite, DuckDB and parquet-wasm. */
export function tableToCompatibleParquet(table: Table): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), compatibleWriterProperties());
}
