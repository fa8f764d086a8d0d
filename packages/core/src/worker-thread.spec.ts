import path from 'node:path';
import { WorkerChannel, isWorkerAlive, startWorkerModule } from './worker-thread';

describe('worker threads running a typed module', () => {
  const start = () => startWorkerModule(path.join(__dirname, 'worker-thread.test-util.ts'));

  it('routes each channel’s replies to its own calls, moving transferred buffers', async () => {
    const worker = start();
    try {
      const double = new WorkerChannel<number, number>(worker, 'double');
      const negate = new WorkerChannel<Float64Array, Float64Array>(worker, 'negate');
      const values = new Float64Array([1, -2, 3]);
      const [a, b, c] = await Promise.all([double.call(21), negate.call(values, [values.buffer]), double.call(5)]);
      expect([a, c]).toEqual([42, 10]);
      expect(Array.from(b)).toEqual([-1, 2, -3]);
      expect(values.length).toBe(0); // moved to the thread, not copied
      const cpu = await new WorkerChannel<null, number | null>(worker, 'cpu').call(null);
      expect(cpu === null || cpu >= 0).toBe(true);
    } finally {
      await worker.terminate();
    }
  });

  it('rejects a call whose handler throws, with the thread’s message, and keeps serving', async () => {
    const worker = start();
    try {
      await expect(new WorkerChannel<string, never>(worker, 'fail').call('no such partition')).rejects.toThrow(
        /fail thread: Error: no such partition/,
      );
      expect(await new WorkerChannel<number, number>(worker, 'double').call(2)).toBe(4);
    } finally {
      await worker.terminate();
    }
  });

  it('rejects pending and later calls once the thread exits', async () => {
    const worker = start();
    const channel = new WorkerChannel<number, never>(worker, 'exit');
    await expect(channel.call(3)).rejects.toThrow(/exited with code 3/);
    expect(isWorkerAlive(worker)).toBe(false);
    await expect(channel.call(0)).rejects.toThrow(/exited with code 3/);
    await expect(new WorkerChannel<number, number>(worker, 'double').call(1)).rejects.toThrow(/not running/);
  });
});
