import fs from 'node:fs';
import path from 'node:path';
import { Schema, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { ParquetFile, Table as WasmTable, transformParquetStream } from 'parquet-wasm';
import { compatibleWriterProperties, type ParquetCompression } from './parquet-compat';
import { parquetContinuation, parquetFileSet } from './parquet-set';

/** Options of {@link forEachParquetBatch}. */
export interface ParquetBatchOptions {
  /** Columns to decode (projection); default all. Unlike the synchronous reader, the stream honours it. */
  readonly columns?: readonly string[];
  /** Rows per batch; default 65 536. */
  readonly batchSize?: number;
}

/**
 * Stream a Parquet file (with its continuations, {@link parquetFileSet}) as Arrow tables of at most
 * `batchSize` rows, decoding only `columns`. Memory stays bounded by one batch (plus what `onBatch`
 * keeps), whatever the file size, which is what the stages need past a few hundred thousand rows.
 * `onBatch` returning `false` stops early. Returns the number of rows read.
 *
 * @example await forEachParquetBatch(file, { columns: ['split'] }, (t) => { n += t.numRows; })
 */
export async function forEachParquetBatch(
  file: string,
  options: ParquetBatchOptions,
  onBatch: (table: Table, offset: number) => void | boolean | Promise<void | boolean>,
): Promise<number> {
  let offset = 0;
  for await (const table of parquetBatches(file, options)) {
    const more = await onBatch(table, offset);
    offset += table.numRows;
    if (more === false) break;
  }
  return offset;
}

/**
 * {@link forEachParquetBatch} as an async iterator, for readers that pull from several files in
 * step (a k-way merge of sorted files); leaving the loop early frees the file.
 *
 * @example for await (const table of parquetBatches(file, { columns: ['date'] })) n += table.numRows;
 */
export async function* parquetBatches(file: string, options: ParquetBatchOptions = {}): AsyncGenerator<Table> {
  for (const part of parquetFileSet(file)) {
    const pq = await ParquetFile.fromFile(await fs.openAsBlob(part));
    try {
      const stream = await pq.stream({
        batchSize: options.batchSize ?? 65_536,
        ...(options.columns ? { columns: [...options.columns] } : {}),
      });
      for await (const batch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>)
        yield tableFromIPC(batch.intoIPCStream());
    } finally {
      pq.free();
    }
  }
}

/** Column names of a Parquet file, read from its footer only (no data pages are decoded). */
export async function readParquetColumnNames(file: string): Promise<string[]> {
  const pq = await ParquetFile.fromFile(await fs.openAsBlob(file));
  try {
    return tableFromIPC(pq.schema().intoIPCStream()).schema.fields.map((f) => f.name);
  } finally {
    pq.free();
  }
}

/** Options of {@link writeParquetBatches}. */
export interface WriteParquetBatchesOptions {
  /** Rows per Parquet row group; default 131 072 (readers can then stream the file in bounded memory). */
  readonly rowGroupRows?: number;
  /** Codec setting; default core's `DEFAULT_PARQUET_COMPRESSION`, as every other Parquet file of the pipeline. */
  readonly compression?: ParquetCompression;
  /**
   * Rows per file; default unlimited. Past it the table goes on in continuation files
   * ({@link parquetContinuation}), which the core readers read with the first: a table of any size
   * stays readable by a 32-bit reader when this keeps each file under 4 GiB.
   */
  readonly fileRows?: number;
}

/**
 * Write Arrow tables (same schema, in order) as one Parquet file with the compatible writer properties
 * (V1 pages, no dictionary, the pipeline's codecs: parquetjs-lite reads it like DuckDB does), encoding them
 * as they come: memory is bounded by one table plus one row group at any file size, not the whole file.
 * The tables may come from an async iterable (computed while the file is written). With `fileRows`, rows
 * past that many go on in continuation files; continuations of an earlier, longer table are removed.
 * Each file appears atomically (temporary name, then rename).
 *
 * @example await writeParquetBatches(file, chunks(master, 65_536))
 */
export async function writeParquetBatches(
  file: string,
  tables: Iterable<Table> | AsyncIterable<Table>,
  options: WriteParquetBatchesOptions = {},
): Promise<number> {
  const it: Iterator<Table> | AsyncIterator<Table> =
    Symbol.asyncIterator in tables ? tables[Symbol.asyncIterator]() : tables[Symbol.iterator]();
  const limit = options.fileRows ?? Infinity;
  if (!(limit >= 1)) throw new Error(`writeParquetBatches: fileRows must be at least 1, got ${options.fileRows}`);
  // The codecs are chosen per column from the schema: the first table gives it.
  const head: IteratorResult<Table> = await it.next();
  const props = compatibleWriterProperties(head.done ? new Schema([]) : head.value.schema, {
    maxRowGroupRows: options.rowGroupRows ?? 131_072,
    ...(options.compression ? { compression: options.compression } : {}),
  });
  // A table not yet written: the first, or the rest of one split between two files.
  let pending: Table | null = head.done ? null : head.value;
  let exhausted = head.done === true;
  const next = async (): Promise<Table | null> => {
    if (pending) {
      const t = pending;
      pending = null;
      return t;
    }
    if (exhausted) return null;
    const r = await it.next();
    exhausted = r.done === true;
    return r.done ? null : r.value;
  };
  let rows = 0;
  let files = 0;
  for (;;) {
    let inFile = 0;
    await writeParquetStream(files === 0 ? file : parquetContinuation(file, files), props, async () => {
      let t = inFile < limit ? await next() : null;
      if (t && inFile + t.numRows > limit) {
        pending = t.slice(limit - inFile);
        t = t.slice(0, limit - inFile);
      }
      inFile += t?.numRows ?? 0;
      return t;
    });
    rows += inFile;
    files++;
    if (inFile < limit) break;
    pending = await next();
    if (!pending) break;
  }
  for (let k = files; fs.existsSync(parquetContinuation(file, k)); k++) fs.rmSync(parquetContinuation(file, k));
  return rows;
}

/** Encode the tables `pull` gives (until `null`) as one Parquet file, written atomically. */
async function writeParquetStream(
  file: string,
  props: ReturnType<typeof compatibleWriterProperties>,
  pull: () => Promise<Table | null>,
): Promise<void> {
  const input = new ReadableStream({
    async pull(controller) {
      const next = await pull();
      if (!next) {
        controller.close();
        return;
      }
      const wasm = WasmTable.fromIPCStream(tableToIPC(next, 'stream'));
      try {
        for (const batch of wasm.recordBatches()) controller.enqueue(batch);
      } finally {
        // The queued batches hold their own references to the data. This copy lives in WebAssembly
        // memory, which the garbage collector does not account for: freed here, chunk by chunk, so memory
        // stays bounded by one chunk whatever the table size (docs/bench-scale.md).
        wasm.free();
      }
    },
  });
  const output = await transformParquetStream(input, props);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) fs.writeSync(fd, chunk);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
