import { parentPort } from 'node:worker_threads';
import { encodeIpc } from './parquet-pool';

// Worker entry of ParquetPool: Arrow IPC stream in, Parquet bytes out.
parentPort?.on('message', (m: { id: number; ipc: Uint8Array }) => {
  try {
    const bytes = encodeIpc(m.ipc);
    parentPort!.postMessage({ id: m.id, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id: m.id, error: (error as Error).message });
  }
});
