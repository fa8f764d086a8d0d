import fs from 'node:fs';
import { Worker, parentPort, type Transferable, type WorkerOptions } from 'node:worker_threads';

/** Options of {@link startWorkerModule}. */
export interface WorkerModuleOptions extends Pick<WorkerOptions, 'workerData' | 'resourceLimits'> {
  /** Let the process exit while the thread runs (a pool the caller stops anyway). */
  readonly unref?: boolean;
}

/**
 * Start a worker thread running the module `file` (an absolute path). A package starts a module beside
 * its own, with its own extension: `path.join(__dirname, \`x${path.extname(__filename)}\`)`. A `.ts` module
 * (run from sources: tsx, Jest) is loaded through tsx's CommonJS hook, a `.js` one (the built package)
 * with plain require, so the thread runs the same typed code either way.
 */
export function startWorkerModule(file: string, options: WorkerModuleOptions = {}): Worker {
  const code = file.endsWith('.ts')
    ? `require('tsx/cjs/api').register(); require(${JSON.stringify(file)});`
    : `require(${JSON.stringify(file)});`;
  const { unref, ...workerOptions } = options;
  const worker = new Worker(code, { ...workerOptions, eval: true });
  if (unref) worker.unref();
  worker.on('error', () => dead.add(worker));
  worker.on('exit', () => dead.add(worker));
  return worker;
}

const dead = new WeakSet<Worker>();

/** Whether a worker from {@link startWorkerModule} can still take calls (not failed, not exited). */
export function isWorkerAlive(worker: Worker): boolean {
  return !dead.has(worker);
}

/** What a request handler answers: the reply and the buffers to move (not copy) to the caller. */
export interface WorkerReply<Rep> {
  readonly reply: Rep;
  readonly transfer?: readonly Transferable[];
}

interface RequestMessage {
  readonly channel: string;
  readonly id: number;
  readonly body: unknown;
}

interface ReplyMessage {
  readonly channel: string;
  readonly id: number;
  readonly body?: unknown;
  readonly error?: string;
}

/**
 * Calls to one channel of a worker thread: each call posts a request and resolves with the thread's reply
 * to it ({@link serveChannel} on the thread's side). Several channels may share a thread (ingest's workers
 * parse byte ranges and encode Parquet). When the thread fails or exits, pending and later calls reject.
 * The caller owns the thread: {@link detach} stops listening, it does not terminate it.
 */
export class WorkerChannel<Req, Rep> {
  private seq = 0;
  private failure: Error | null = null;
  private readonly pending = new Map<number, { resolve: (r: Rep) => void; reject: (e: Error) => void }>();
  private readonly onMessage = (m: ReplyMessage) => {
    if (m.channel !== this.name) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error === undefined) p.resolve(m.body as Rep);
    else p.reject(new Error(`${this.name} thread: ${m.error}`));
  };
  private readonly onError = (error: Error) => this.fail(error);
  private readonly onExit = (code: number) => this.fail(new Error(`${this.name} thread exited with code ${code}`));

  constructor(
    readonly worker: Worker,
    private readonly name: string,
  ) {
    if (!isWorkerAlive(worker)) this.failure = new Error(`${name} thread is not running`);
    worker.on('message', this.onMessage);
    worker.on('error', this.onError);
    worker.on('exit', this.onExit);
  }

  /** The error that stopped the thread, or null while it runs. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Send `body` (moving the `transfer` buffers) and wait for the reply. */
  call(body: Req, transfer: readonly Transferable[] = []): Promise<Rep> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.seq++;
    return new Promise<Rep>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: RequestMessage = { channel: this.name, id, body };
      this.worker.postMessage(request, transfer as Transferable[]);
    });
  }

  /** Stop listening to the thread (calls still pending are rejected). */
  detach(): void {
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    this.fail(new Error(`${this.name} channel closed`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

const handlers = new Map<string, (body: unknown) => WorkerReply<unknown> | Promise<WorkerReply<unknown>>>();

/**
 * On a worker thread: answer the requests of channel `name` ({@link WorkerChannel}) with `handle`, one
 * at a time in arrival order for synchronous handlers. A thrown error is sent back as the call's rejection.
 */
export function serveChannel<Req, Rep>(
  name: string,
  handle: (request: Req) => WorkerReply<Rep> | Promise<WorkerReply<Rep>>,
): void {
  const port = parentPort;
  if (!port) throw new Error(`serveChannel(${name}): not on a worker thread`);
  if (handlers.size === 0) {
    port.on('message', (m: RequestMessage) => {
      const handler = handlers.get(m.channel);
      const answer = (body: unknown, transfer: readonly Transferable[] = []) =>
        port.postMessage({ channel: m.channel, id: m.id, body } satisfies ReplyMessage, transfer as Transferable[]);
      const refuse = (error: unknown) =>
        port.postMessage({ channel: m.channel, id: m.id, error: errorText(error) } satisfies ReplyMessage);
      if (!handler) return refuse(new Error(`no channel ${m.channel}`));
      try {
        const r = handler(m.body);
        if (r instanceof Promise) r.then((done) => answer(done.reply, done.transfer), refuse);
        else answer(r.reply, r.transfer);
      } catch (error) {
        refuse(error);
      }
    });
  }
  handlers.set(name, handle as (body: unknown) => WorkerReply<unknown> | Promise<WorkerReply<unknown>>);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * CPU seconds used so far by the calling thread (Linux: `/proc/thread-self/stat`, utime + stime in
 * clock ticks of 1/100 s); null where that file does not exist. Node 20 has no per-thread CPU clock.
 */
export function threadCpuSeconds(): number | null {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}
