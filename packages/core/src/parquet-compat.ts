import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';

/**
 * Parquet writer properties every reader we care about opens: format V1 data pages, no dictionary
 * encoding, Snappy. parquet-wasm's defaults (V2 pages / dictionary pages) are unreadable for
 * parquetjs-lite ("FAIL" on open), measured with parquet-wasm 0.7 and parquetjs-lite 0.8; DuckDB and
 * parquet-wasm read both.
 */
export function compatibleWriterProperties() {
  return new WriterPropertiesBuilder()
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(false)
    .setCompression(Compression.SNAPPY)
    .build();
}

/** Encode an Arrow table as Parquet bytes readable by parquetjs-lite, DuckDB and parquet-wasm. */
export function tableToCompatibleParquet(table: Table): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), compatibleWriterProperties());
}
