// A worker module for worker-thread.spec.ts: a few channels on one thread.
import { serveChannel, threadCpuSeconds } from './worker-thread';

serveChannel<number, number>('double', (n) => ({ reply: n * 2 }));
serveChannel<Float64Array, Float64Array>('negate', async (values) => {
  for (let i = 0; i < values.length; i++) values[i] = -values[i]!;
  return { reply: values, transfer: [values.buffer as ArrayBuffer] };
});
serveChannel<string, never>('fail', (why) => {
  throw new Error(why);
});
serveChannel<null, number | null>('cpu', () => ({ reply: threadCpuSeconds() }));
serveChannel<number, never>('exit', (code) => process.exit(code));
