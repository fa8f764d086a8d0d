import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { compatibleWriterProperties, type CompatibleWriterOptions } from './parquet-compat';

/**
 * Encode an Arrow IPC stream (what `tableToIPC(table, 'stream')` gives) as Parquet bytes with the
 * compatible writer properties: the same bytes as `tableToCompatibleParquet(table)`, which serialises the
 * table to exactly such a stream first. For a thread that receives tables as IPC (a worker), this skips
 * decoding the stream into a JS table and serialising it again.
 */
export function ipcToCompatibleParquet(ipc: Uint8Array, options: CompatibleWriterOptions = {}): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(ipc), compatibleWriterProperties(options));
}
