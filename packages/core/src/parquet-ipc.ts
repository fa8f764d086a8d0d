import { RecordBatchReader, type Schema } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { compatibleWriterProperties, type CompatibleWriterOptions } from './parquet-compat';

/**
 * Encode an Arrow IPC stream (what `tableToIPC(table, 'stream')` gives) as Parquet bytes with the
 * compatible writer properties: the same bytes as `tableToCompatibleParquet(table)`, which serialises the
 * table to exactly such a stream first. For a thread that receives tables as IPC (a worker), this skips
 * decoding the stream into a JS table and serialising it again.
 */
export function ipcToCompatibleParquet(ipc: Uint8Array, options: CompatibleWriterOptions = {}): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(ipc), compatibleWriterProperties(ipcStreamSchema(ipc), options));
}

/** The schema of an Arrow IPC stream, from its first message only (the record batches are not read). */
function ipcStreamSchema(ipc: Uint8Array): Schema {
  const reader = RecordBatchReader.from(ipc).open();
  return reader.schema;
}
