import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A server process started for tests or benchmarks, on its own free port. */
export interface LocalService {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stop the process (SIGTERM, then SIGKILL after 5 s) and remove its data folder. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function start(
  command: string,
  args: (port: number, dir: string) => string[],
  scheme: string,
  waitMs: number,
): Promise<LocalService> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-${path.basename(command)}-`));
  const child: ChildProcess = spawn(command, args(port, dir), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
  let exited = false;
  const done = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + waitMs;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (failed)
      throw new Error(
        `${command}: cannot start (${failed.message}); install it (Debian: apt-get install redis-server nats-server)`,
      );
    if (exited) throw new Error(`${command} exited at start: ${stderr}`);
    if (await answers(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not answer on port ${port} within ${waitMs} ms: ${stderr}`);
    }
  }
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await done;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start a throw-away redis-server on a free port (no persistence), waiting at most `waitMs` for it to answer. */
export function startRedisServer(waitMs = 10_000): Promise<LocalService> {
  return start(
    'redis-server',
    (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    'redis',
    waitMs,
  );
}

/** Start a throw-away nats-server with JetStream on a free port (storage in a temporary folder). */
export function startNatsServer(waitMs = 10_000): Promise<LocalService> {
  return start(
    'nats-server',
    (port, dir) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir],
    'nats',
    waitMs,
  );
}
