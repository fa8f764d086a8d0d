/**
 * Open-loop load generator for bench/api.ts, run as its own process so that nothing else the bench
 * does (autocannon's histograms, earlier runs' garbage) shares its event loop:
 *
 *   node --import tsx bench/paced-load.ts <url> <rate per s> <seconds> <body file>
 *
 * Request i is due at start + i / rate whatever the earlier ones are doing, and its latency counts
 * from that due time, so a stalled server cannot slow the load down and hide its own stall (no
 * coordinated omission). The generator sleeps on a timer until just before a request is due and then
 * spins the event loop (it has a core of its own in the bench), so requests leave on time rather than
 * up to a timer tick late. Requests go over raw keep-alive TCP connections (a new one opens when all
 * are busy) as one pre-built HTTP/1.1 request; responses are framed by Content-Length. node:http's
 * client costs the generator several times the CPU of this, and its own event-loop stalls then show
 * up as server latency. Prints one JSON line: latencies from the due time and from the actual send,
 * how late the generator sent, achieved rate, errors (non-200 answers and socket errors).
 */
import fs from 'node:fs';
import net from 'node:net';

/** Latencies in ms from each request's scheduled send time. */
export interface PacedResult {
  p50: number;
  p99: number;
  max: number;
  /** p99 from the actual send, and how late the generator sent (both to show the generator kept up). */
  p99FromSend: number;
  lateP99: number;
  achieved: number;
  total: number;
  errors: number;
  /** TCP connections opened (one request in flight per connection). */
  connections: number;
}

const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** One keep-alive connection with at most one request in flight. */
class Connection {
  readonly socket: net.Socket;
  busy = false;
  private buffered: Buffer | null = null;
  private onAnswer: ((status: number) => void) | null = null;

  constructor(host: string, port: number, onClose: (c: Connection) => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.data(chunk));
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => {
      this.fail();
      onClose(this);
    });
  }

  send(request: Buffer, onAnswer: (status: number) => void): void {
    this.busy = true;
    this.onAnswer = onAnswer;
    this.socket.write(request);
  }

  private fail(): void {
    const done = this.onAnswer;
    this.onAnswer = null;
    this.busy = true; // never reused
    done?.(0);
  }

  private data(chunk: Buffer): void {
    const buf = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      this.buffered = buf;
      return;
    }
    const head = buf.toString('latin1', 0, headEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < headEnd + 4 + length) {
      this.buffered = buf;
      return;
    }
    this.buffered = null;
    const status = Number(head.slice(9, 12));
    const done = this.onAnswer;
    this.onAnswer = null;
    this.busy = false;
    done?.(status);
  }
}

export function paced(url: string, rate: number, seconds: number, body: string): Promise<PacedResult> {
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port);
  const payload = Buffer.from(body);
  const request = Buffer.concat([
    Buffer.from(
      `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: keep-alive\r\n\r\n`,
    ),
    payload,
  ]);
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const fromDue = new Float64Array(total);
  const fromSend = new Float64Array(total);
  const late = new Float64Array(total);
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  let errors = 0;
  let answered = 0;
  let sentCount = 0;
  let opened = 0;
  const start = performance.now() + 50;

  return new Promise<PacedResult>((resolve) => {
    const finish = () => {
      const elapsed = (performance.now() - start) / 1000;
      for (const c of all) c.socket.destroy();
      fromDue.sort();
      fromSend.sort();
      late.sort();
      resolve({
        p50: quantile(fromDue, 0.5),
        p99: quantile(fromDue, 0.99),
        max: fromDue[fromDue.length - 1] ?? Number.NaN,
        p99FromSend: quantile(fromSend, 0.99),
        lateP99: quantile(late, 0.99),
        achieved: total / elapsed,
        total,
        errors,
        connections: opened,
      });
    };
    const connection = (): Connection => {
      let c = idle.pop();
      while (c !== undefined && c.busy) c = idle.pop();
      if (c !== undefined) return c;
      opened += 1;
      const fresh = new Connection(host, port, (gone) => all.delete(gone));
      all.add(fresh);
      return fresh;
    };
    const send = (k: number, due: number) => {
      const c = connection();
      const sent = performance.now();
      c.send(request, (status) => {
        const t = performance.now();
        fromDue[k] = t - due;
        fromSend[k] = t - sent;
        late[k] = sent - due;
        if (status !== 200) errors += 1;
        else idle.push(c);
        answered += 1;
        if (answered === total) finish();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sentCount < total && start + sentCount * interval <= now) {
        const k = sentCount;
        sentCount += 1;
        send(k, start + k * interval);
      }
      if (sentCount >= total) return;
      // Timers fire in whole milliseconds, late by up to one: sleep until 2 ms before the next due
      // time, then keep turning the event loop (setImmediate still polls the sockets) until it is due.
      const wait = start + sentCount * interval - performance.now();
      if (wait > 2) setTimeout(tick, wait - 2);
      else setImmediate(tick);
    };
    // Warm the pool with a few connections so the first requests do not pay the TCP handshake.
    for (let i = 0; i < 4; i++) idle.push(connection());
    setTimeout(tick, 50);
  });
}

if (require.main === module) {
  const [url, rate, seconds, bodyFile] = process.argv.slice(2);
  if (!url || !rate || !seconds || !bodyFile) {
    process.stderr.write('usage: node --import tsx bench/paced-load.ts <url> <rate per s> <seconds> <body file>\n');
    process.exit(2);
  }
  void paced(url, Number(rate), Number(seconds), fs.readFileSync(bodyFile, 'utf8')).then((r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  });
}
