import { DataType, tableToIPC, type Schema, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';

/**
 * Codecs a Parquet file may be written with: only GZIP, Snappy or none, the codecs parquetjs-lite (as well
 * as DuckDB and parquet-wasm) reads; it cannot open ZSTD, LZ4 or Brotli column chunks.
 * - `gzip-strings` (default): GZIP for string columns, Snappy for numbers and booleans. Hex pseudonyms, ids
 *   and category names are where Snappy, which has no entropy coding, leaves half the bytes (64 hex digits
 *   of a customer key: 58% of raw under Snappy, 32% under GZIP); on numbers GZIP saves 5–30% for about four
 *   times Snappy's encode time (docs/bench-storage.md).
 * - `snappy`: every column Snappy (cheapest encode; the lake is then 1.1× DuckDB's Parquet of the same rows).
 * - `gzip`: every column GZIP (smallest, slowest to write).
 * - `uncompressed`: no codec (about twice `snappy`'s bytes).
 */
export const PARQUET_COMPRESSIONS = ['gzip-strings', 'snappy', 'gzip', 'uncompressed'] as const;
/** One of {@link PARQUET_COMPRESSIONS}. */
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];
/** The codec setting of every Parquet file the pipeline writes unless a stage's params say otherwise. */
export const DEFAULT_PARQUET_COMPRESSION: ParquetCompression = 'gzip-strings';

type Codec = 'GZIP' | 'SNAPPY' | 'UNCOMPRESSED';

const CODEC_SETTINGS: Readonly<Record<ParquetCompression, { readonly strings: Codec; readonly others: Codec }>> = {
  'gzip-strings': { strings: 'GZIP', others: 'SNAPPY' },
  snappy: { strings: 'SNAPPY', others: 'SNAPPY' },
  gzip: { strings: 'GZIP', others: 'GZIP' },
  uncompressed: { strings: 'UNCOMPRESSED', others: 'UNCOMPRESSED' },
};

const CODECS: Readonly<Record<Codec, Compression>> = {
  GZIP: Compression.GZIP,
  SNAPPY: Compression.SNAPPY,
  UNCOMPRESSED: Compression.UNCOMPRESSED,
};

function settings(compression: ParquetCompression) {
  const s = CODEC_SETTINGS[compression];
  if (s === undefined) throw new Error(`unknown Parquet compression ${String(compression)}`);
  return s;
}

/** Strings, and dictionary-typed columns of strings (written as plain strings all the same). */
const isString = (type: DataType): boolean =>
  DataType.isUtf8(type) || DataType.isLargeUtf8(type) || (DataType.isDictionary(type) && isString(type.dictionary));

/** The codec {@link compatibleWriterProperties} gives a column of `type` under `compression`, as Parquet names it. */
export function parquetColumnCodec(compression: ParquetCompression, type: DataType): Codec {
  const s = settings(compression);
  return isString(type) ? s.strings : s.others;
}

/** Options of {@link compatibleWriterProperties}. */
export interface CompatibleWriterOptions {
  /** Rows per row group; default parquet-wasm's (1 048 576). */
  readonly maxRowGroupRows?: number;
  /** Codec setting; default {@link DEFAULT_PARQUET_COMPRESSION}. */
  readonly compression?: ParquetCompression;
}

/**
 * Parquet writer properties every reader we care about opens, used for every Parquet file the pipeline
 * writes (lake, feature store, master table, batch predictions): format V1 data pages, plain encoding
 * (no dictionary), a codec per column from `options.compression` and the column's type in `schema`.
 *
 * Why no dictionary: parquet-wasm (arrow-rs) marks dictionary-encoded data pages RLE_DICTIONARY, which
 * parquetjs-lite rejects ("invalid encoding: RLE_DICTIONARY"; it knows only the V1 name PLAIN_DICTIONARY,
 * which DuckDB writes). Even then it would turn a numeric dictionary's values into strings and misread a
 * repeated run of a dictionary index above 255. DuckDB and parquet-wasm read dictionaries and V2 pages.
 */
export function compatibleWriterProperties(schema: Schema, options: CompatibleWriterOptions = {}) {
  const s = settings(options.compression ?? DEFAULT_PARQUET_COMPRESSION);
  let builder = new WriterPropertiesBuilder()
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(false)
    .setCompression(CODECS[s.others]);
  if (s.strings !== s.others)
    for (const field of schema.fields)
      if (isString(field.type)) builder = builder.setColumnCompression(field.name, CODECS[s.strings]);
  if (options.maxRowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.maxRowGroupRows);
  return builder.build();
}

/** Encode an Arrow table as Parquet bytes readable by parquetjs-lite, DuckDB and parquet-wasm. */
export function tableToCompatibleParquet(table: Table, options: CompatibleWriterOptions = {}): Uint8Array {
  return writeParquet(
    WasmTable.fromIPCStream(tableToIPC(table, 'stream')),
    compatibleWriterProperties(table.schema, options),
  );
}
