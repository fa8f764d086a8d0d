/**
 * Online store benchmark (`npx tsx bench/online-store.ts`; results to docs/bench-online-store.md, which
 * `node tools/merge-benchmarks.js` merges into docs/benchmarks.md). One run, its own redis-server and
 * nats-server on free ports:
 *
 * 1. Materialise BENCH_CUSTOMERS (default 1,000,000) synthetic customer states into the embedded store
 *    and into Redis (seconds each).
 * 2. For each backend: the API process (`apps/api/src/main.ts`, demonstration champion) answering
 *    `POST /predict` for a known customer: throughput at 50 connections (autocannon) and latency at a
 *    steady 500 req/s (bench/paced-load.ts, open loop); the process's memory after the same
 *    MEMORY_REQUESTS requests in every run (VmRSS, split into anonymous memory, its own heap and
 *    buffers, and file-backed pages, the memory-mapped LMDB file that the kernel may drop and share),
 *    next to the same process over a 1,000-customer store, and its VmRSS after the load.
 * 3. Push events/s per backend (`POST /transactions`, one transaction per request, 16 concurrent
 *    clients, new transaction ids) and stream events/s per backend (BENCH_STREAM rows replayed into
 *    JetStream by the producer, then the consumer's apply rate).
 *
 * Placement (2 cores): the API process on CPU 0, and redis-server with it; the bench, its load
 * generators and nats-server on CPU 1 (start the bench under `taskset -c 1`). The paced generator
 * busy-waits to send each request on time, so a server sharing its core would wait for it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  connectTransactionStream,
  customerKey,
  dataLayout,
  emptyCustomerState,
  freePort,
  generate,
  openOnlineStore,
  startNatsServer,
  startRedisServer,
  updateCustomerState,
  type CustomerState,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { PREDICTION_EXAMPLE, TRANSACTION_PUSH_EXAMPLE } from '@bolsillo/schema';
import { LandingWriter, OnlineFeatures, PushService, registerDemoChampion, runConsumer } from '@bolsillo/serve';
import type { PacedResult } from './paced-load';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const ROOT = path.resolve(__dirname, '..');
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 3_000);
const STREAM_ROWS = Number(process.env.BENCH_STREAM ?? 20_000);
/** Requests served before the process's memory is read (the same in every run). */
const MEMORY_REQUESTS = 2_000;
const SECRET = 'bench-secret';
const taskset = spawnSync('taskset', ['--version']).status === 0;

/** The synthetic customers' states: a few transactions each, JSON as the features stage writes them. */
function snapshot(n: number): { snap: OnlineStoreSnapshot; keyOf: (i: number) => string } {
  const { customer_id: _id, ...fields } = PREDICTION_EXAMPLE;
  const keyOf = (i: number) =>
    customerKey(SECRET, {
      id: `bench-${i}`,
      account_cohort: fields.account_cohort,
      city: fields.city,
      state: fields.state,
      age: fields.age,
      sex: fields.sex,
    });
  let state: CustomerState = emptyCustomerState();
  for (const [d, amount] of [
    ['2020-04-20', 120],
    ['2020-04-29', 35.5],
    ['2020-05-05', 410],
  ] as const)
    state = updateCustomerState(state, { ...fields, customer_key: 'k', date: d, amount });
  const customers: Record<string, CustomerState> = {};
  for (let i = 0; i < n; i += 1) customers[keyOf(i)] = state;
  return { snap: { params: DEFAULT_FEATURE_PARAMS, as_of: '2020-05-05', customers }, keyOf };
}

function startApi(port: number, env: Record<string, string>): ChildProcess {
  const nodeArgs = ['--import', 'tsx', 'apps/api/src/main.ts'];
  const cmd = taskset ? 'taskset' : process.execPath;
  const args = taskset ? ['-c', '0', process.execPath, ...nodeArgs] : nodeArgs;
  const e: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), BOLSILLO_PSEUDONYM_SECRET: SECRET };
  if (!env.BOLSILLO_ONLINE_STORE) delete e.BOLSILLO_ONLINE_STORE;
  const child = spawn(cmd, args, { cwd: ROOT, env: e, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`  [api] ${d}`));
  return child;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** VmRSS and its anonymous and file-backed parts (MB), from /proc. */
function memory(pid: number): { rss: number; anon: number; file: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? Number.NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** CPU time a process has used (user + system, ms), from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function paced(url: string, rate: number, seconds: number, body: string): PacedResult {
  const bodyFile = path.join(os.tmpdir(), `bolsillo-bench-store-body-${process.pid}.json`);
  fs.writeFileSync(bodyFile, body);
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/paced-load.ts', url, String(rate), String(seconds), bodyFile],
    { cwd: ROOT, encoding: 'utf8' },
  );
  fs.rmSync(bodyFile, { force: true });
  if (run.status !== 0) throw new Error(`paced load failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as PacedResult;
}

interface ApiRun {
  backend: string;
  customers: number;
  throughput: CannonResult;
  steady: PacedResult | null;
  memory: { rss: number; anon: number; file: number };
  /** The API process's CPU time (user + system) per request during the throughput run (µs). */
  cpuPerRequest: number;
  /** VmRSS after the throughput and steady-rate loads (MB): the heap then depends on the load and on GC timing. */
  rssAfterLoad: number;
}

async function apiRun(
  backend: string,
  customers: number,
  dataDir: string,
  storeUrl: string,
  steady: boolean,
): Promise<ApiRun> {
  const port = await freePort();
  const api = startApi(port, { DATA_DIR: dataDir, BOLSILLO_ONLINE_STORE: storeUrl });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/ready`);
    // A known customer from the middle of the store.
    const body = JSON.stringify({ ...PREDICTION_EXAMPLE, customer_id: `bench-${Math.floor(customers / 2)}` });
    const opts = {
      url: `${url}/predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: 50,
    };
    // Memory at the same point in every run: after the same requests, one at a time, and a pause.
    for (let i = 0; i < MEMORY_REQUESTS; i += 1) {
      const res = await fetch(opts.url, { method: 'POST', headers: opts.headers, body });
      if (res.status !== 200) throw new Error(`predict ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const m = memory(api.pid!);
    await autocannon({ ...opts, duration: 2 });
    const cpu0 = cpuMs(api.pid!);
    const throughput = await autocannon({ ...opts, duration: DURATION });
    const cpuPerRequest = ((cpuMs(api.pid!) - cpu0) * 1000) / throughput.requests.total;
    const s = steady ? paced(`${url}/predict`, 500, STEADY_SECONDS, body) : null;
    const rssAfterLoad = memory(api.pid!).rss;
    console.log(
      `${backend} ${customers}: ${Math.round(throughput.requests.average)} req/s at 50 conns (p99 ${throughput.latency.p99} ms)${s ? `; steady 500 req/s p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms` : ''}; RSS ${m.rss.toFixed(0)} MB (anon ${m.anon.toFixed(0)}, file ${m.file.toFixed(0)}), ${rssAfterLoad.toFixed(0)} MB after the load`,
    );
    return { backend, customers, throughput, steady: s, memory: m, rssAfterLoad, cpuPerRequest };
  } finally {
    await stop(api);
  }
}

/** Push events/s: 16 clients, one new transaction per request, over the first customers of the store. */
async function pushRate(dataDir: string, storeUrl: string): Promise<number> {
  const port = await freePort();
  const api = startApi(port, { DATA_DIR: dataDir, BOLSILLO_ONLINE_STORE: storeUrl });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/health`);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < PUSHES; i = next++) {
          const res = await fetch(`${url}/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              ...TRANSACTION_PUSH_EXAMPLE,
              customer_id: `bench-${i % 1000}`,
              txn_id: `push-${storeUrl ? 'r' : 'e'}-${i}`,
            }),
          });
          if (res.status !== 200) throw new Error(`push ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    return PUSHES / ((performance.now() - t0) / 1000);
  } finally {
    await stop(api);
  }
}

/** Stream events/s: the consumer's apply rate over a stream already holding the rows. */
async function streamRate(
  dataDir: string,
  storeUrl: string,
  natsUrl: string,
  durable: string,
): Promise<{ perSecond: number; applied: number }> {
  const store = await openOnlineStore({
    url: storeUrl || undefined,
    embeddedDir: dataLayout(dataDir).onlineEmbedded,
    namespace: `stream-${durable}`,
  });
  const stream = await connectTransactionStream(natsUrl);
  try {
    await store.materialise({ params: DEFAULT_FEATURE_PARAMS, as_of: '', customers: {} });
    const features = new OnlineFeatures({
      store,
      snapshotFile: path.join(dataDir, 'none.json'),
      secret: SECRET,
      log: () => undefined,
    });
    const push = new PushService({
      store,
      landing: LandingWriter.open(path.join(dataDir, 'landing-stream'), durable),
      keyFor: (p) => features.keyFor(p)!,
    });
    const idle = 2_000;
    const t0 = performance.now();
    const s = await runConsumer({ stream, push, durable, batch: 256, idleExitMs: idle, log: () => undefined });
    return { perSecond: s.messages / ((performance.now() - t0 - idle) / 1000), applied: s.applied };
  } finally {
    await stream.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const load0 = os.loadavg();
  const [redis, nats] = await Promise.all([startRedisServer(), startNatsServer()]);
  if (taskset) spawnSync('taskset', ['-pc', '0', String(redis.pid)]);
  // The scheduler groups processes by session (autogroup): `nice` orders processes within a group
  // only, so the group's own nice is what ranks this run against other sessions' jobs.
  const autogroup = (() => {
    try {
      return /nice (-?\d+)/.exec(fs.readFileSync('/proc/self/autogroup', 'utf8'))?.[1] ?? null;
    } catch {
      return null;
    }
  })();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-bench-store-'));
  try {
    const dirs = { big: path.join(work, 'big'), small: path.join(work, 'small') };
    for (const d of Object.values(dirs)) await registerDemoChampion(dataLayout(d).registry, 7);
    const redisBig = `${redis.url}/0`;
    const redisSmall = `${redis.url}/1`;

    // 1. Materialisation.
    const mat: Record<string, number> = {};
    for (const [name, n] of [
      ['big', CUSTOMERS],
      ['small', 1_000],
    ] as const) {
      const { snap } = snapshot(n);
      for (const backend of ['embedded', 'redis'] as const) {
        const store = await openOnlineStore({
          url: backend === 'redis' ? (name === 'big' ? redisBig : redisSmall) : undefined,
          embeddedDir: dataLayout(dirs[name]).onlineEmbedded,
        });
        const t0 = performance.now();
        await store.materialise(snap);
        mat[`${backend}-${name}`] = (performance.now() - t0) / 1000;
        await store.close();
        console.log(`materialised ${n} customers into ${backend} in ${mat[`${backend}-${name}`]!.toFixed(1)} s`);
      }
    }
    const redisMemory =
      Number(
        /used_memory:(\d+)/.exec(
          spawnSync('redis-cli', ['-p', String(redis.port), 'info', 'memory'], { encoding: 'utf8' }).stdout,
        )?.[1] ?? Number.NaN,
      ) /
      1024 ** 2;

    // 2. /predict per backend, 1M and 1k customers.
    const runs: ApiRun[] = [];
    runs.push(await apiRun('embedded', CUSTOMERS, dirs.big, '', true));
    runs.push(await apiRun('redis', CUSTOMERS, dirs.big, redisBig, true));
    runs.push(await apiRun('embedded', 1_000, dirs.small, '', false));
    runs.push(await apiRun('redis', 1_000, dirs.small, redisSmall, false));

    // 3. Push and stream events/s.
    const push = { embedded: await pushRate(dirs.small, ''), redis: await pushRate(dirs.small, redisSmall) };
    console.log(`push: embedded ${push.embedded.toFixed(0)}/s, redis ${push.redis.toFixed(0)}/s`);
    const csv = path.join(work, 'stream.csv');
    fs.writeFileSync(csv, generate({ rows: STREAM_ROWS, seed: 5 }));
    const produced = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'packages/ingest/src/produce-cli.ts', '--csv', csv],
      { cwd: ROOT, env: { ...process.env, BOLSILLO_NATS_URL: nats.url }, encoding: 'utf8' },
    );
    if (produced.status !== 0) throw new Error(`producer: ${produced.stderr}`);
    const publishRate = /(\d+) messages\/s/.exec(produced.stderr)?.[1] ?? '?';
    const stream = {
      embedded: await streamRate(path.join(work, 'stream-e'), '', nats.url, 'bench-embedded'),
      redis: await streamRate(path.join(work, 'stream-r'), redis.url, nats.url, 'bench-redis'),
    };
    console.log(
      `stream: producer ${publishRate}/s; consumer embedded ${stream.embedded.perSecond.toFixed(0)}/s, redis ${stream.redis.perSecond.toFixed(0)}/s`,
    );

    const [eb, rb, es, rs] = runs as [ApiRun, ApiRun, ApiRun, ApiRun];
    const row = (r: ApiRun) =>
      `| ${r.backend} | ${r.customers.toLocaleString('en')} | ${Math.round(r.throughput.requests.average).toLocaleString('en')} | ${r.throughput.latency.p99} | ${r.steady ? `${r.steady.p50.toFixed(2)} / **${r.steady.p99.toFixed(2)}** / ${r.steady.max.toFixed(1)} (${r.steady.lateP99.toFixed(2)})` : '–'} | ${r.memory.rss.toFixed(0)} | ${r.memory.anon.toFixed(0)} | ${r.memory.file.toFixed(0)} | ${r.rssAfterLoad.toFixed(0)} |`;
    const load1 = os.loadavg();
    const busy = Math.max(load0[0]!, load1[0]!) > os.cpus().length;
    const ratio = (rb.throughput.requests.average / eb.throughput.requests.average) * 100;
    const p99 = rb.steady!.p99;
    const md = `## Online store (\`bench/online-store.ts\`)

Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC in one run on this machine (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}); load average at start ${load0.map((l) => l.toFixed(1)).join(' ')}, at the end ${load1.map((l) => l.toFixed(1)).join(' ')}${taskset ? '; API processes and redis-server pinned to CPU 0, the bench, its load generators and nats-server to CPU 1 (taskset)' : ''}${autogroup !== null ? `; this run's scheduler autogroup at nice ${autogroup}` : ''}; redis-server and nats-server started by the bench on free ports, on the same machine.
${busy ? `\n**Other jobs were running (load average above the core count)**${autogroup !== null && Number(autogroup) < 0 ? `: this run's processes had their own scheduler autogroup at nice ${autogroup}, so the other sessions' jobs got a small share of the cores, but their cache and memory traffic and their time slices remain in the tails` : ': req/s and latencies swing with that load'}; rerun on an idle machine for absolute figures.\n\n` : ''}Store: ${CUSTOMERS.toLocaleString('en')} synthetic customers (each the state after three transactions), materialised in ${mat['embedded-big']!.toFixed(1)} s into the embedded LMDB store and ${mat['redis-big']!.toFixed(1)} s into Redis (Redis used_memory after both sizes: ${redisMemory.toFixed(0)} MB). \`POST /predict\` for a known customer of the store, demonstration champion. Steady rate: open loop, latency from each request's due time (in brackets: the generator's own p99 lateness in sending).

| backend | customers | req/s, 50 connections | p99 ms | steady 500 req/s: p50 / p99 / max ms (late) | API RSS MB | anonymous MB | file-backed MB | RSS after the load MB |
|---|---|---|---|---|---|---|---|---|
${row(eb)}
${row(rb)}
${row(es)}
${row(rs)}

- Redis at 500 req/s: p99 **${p99.toFixed(2)} ms** (goal: under 5 ms: **${p99 < 5 ? 'met' : 'not met in this run'}**; the embedded store's in the same run: ${eb.steady!.p99.toFixed(2)} ms). Throughput at 50 connections with Redis = **${ratio.toFixed(0)} %** of the embedded store's (goal: at least 50 %: **${ratio >= 50 ? 'met' : 'not met in this run'}**); each request adds one Redis round trip (a pipelined \`HGET\`) and its parsing, and redis-server takes its CPU from the API's core. The API's CPU per request at 50 connections: embedded ${eb.cpuPerRequest.toFixed(0)} µs, Redis ${rb.cpuPerRequest.toFixed(0)} µs${rb.cpuPerRequest < eb.cpuPerRequest ? ' (the Redis path completes the requests whose states one pipelined reply brings in one event-loop turn; the embedded path answers each request as it is parsed)' : ''}.
- API memory, after ${MEMORY_REQUESTS.toLocaleString('en')} requests one at a time in every run: with Redis the process does not hold the customers (anonymous memory ${rs.memory.anon.toFixed(0)} MB at 1,000 customers, ${rb.memory.anon.toFixed(0)} MB at ${CUSTOMERS.toLocaleString('en')}). The embedded store does not copy them into the heap either (anonymous ${es.memory.anon.toFixed(0)} → ${eb.memory.anon.toFixed(0)} MB); its file-backed pages (${es.memory.file.toFixed(0)} → ${eb.memory.file.toFixed(0)} MB) are the pages of the memory-mapped LMDB file this process touched, shared by every process on the machine and dropped by the kernel under memory pressure. The JSON-file store it replaces was parsed whole into every API process's heap. After the load the RSS depends on the load and on when the garbage collector last ran, not on the store.
- Push (\`POST /transactions\`, one transaction per request, 16 concurrent clients, ${PUSHES.toLocaleString('en')} new transactions): embedded **${push.embedded.toFixed(0)} events/s**, Redis **${push.redis.toFixed(0)} events/s**. Each push is landed with an fdatasync before it is folded; on the embedded store the fold is a durable LMDB write transaction too.
- Stream (${STREAM_ROWS.toLocaleString('en')} generated rows; the producer published **${publishRate} messages/s** with JetStream acks): consumer **${stream.embedded.perSecond.toFixed(0)} events/s** into the embedded store, **${stream.redis.perSecond.toFixed(0)} events/s** into Redis (batches of 256: one landing sync and, embedded, one LMDB transaction per batch; acks after both).

Reproduce: \`taskset -c 1 npx tsx bench/online-store.ts\` (env: \`BENCH_CUSTOMERS\`, \`BENCH_SECONDS\`, \`BENCH_STEADY_SECONDS\`, \`BENCH_PUSHES\`, \`BENCH_STREAM\`); on a shared machine, in a session of its own whose autogroup outranks the other jobs (as root): \`setsid -w sh -c 'echo -20 > /proc/self/autogroup; exec taskset -c 1 npx tsx bench/online-store.ts'\`.
`;
    fs.writeFileSync(path.join(ROOT, 'docs/bench-online-store.md'), md);
    console.log(md);
  } finally {
    await Promise.all([redis.stop(), nats.stop()]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
