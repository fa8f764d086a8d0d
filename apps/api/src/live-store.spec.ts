/**
 * The live online store end to end, against real redis-server and nats-server processes started on
 * free ports: parity with the batch path on the real file (HTTP push and stream, each backend), two
 * API processes pushing the same customers to one Redis, and a consumer killed with SIGKILL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ONLINE_STORE_FILE,
  TRANSACTION_STREAM,
  connectTransactionStream,
  dataLayout,
  emptyCustomerState,
  freePort,
  listPartitions,
  openOnlineStore,
  readOnlineStore,
  readParquetFile,
  rowsFromTable,
  startNatsServer,
  startRedisServer,
  updateCustomerState,
  type LocalService,
  type OnlineStore,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { loadModel } from '@bolsillo/model';
import {
  FEATURE_NAMES,
  TRANSACTION_PUSH_EXAMPLE,
  type FeatureRow,
  type PredictionRequest,
  type TransactionPush,
} from '@bolsillo/schema';
import { createServing, readLanding, runConsumer, type Serving } from '@bolsillo/serve';
import { itRealData, realDataPath } from '@bolsillo/testing';
import { evaluateRegistryOps } from './admin-ops';
import { createApp } from './app';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const SECRET = 'live-store-spec-secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-live-'));

let redis: LocalService;
let nats: LocalService;
beforeAll(async () => {
  [redis, nats] = await Promise.all([startRedisServer(), startNatsServer()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), nats?.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Each test publishes the real file into a stream of its own making. Publishing the same file twice
 * into one stream adds nothing only inside JetStream's de-duplication window (10 minutes), so on a slow
 * machine the stream would hold it twice; deleting the stream (and its consumers) first makes the
 * count exact whatever the timing.
 */
async function emptyStream(): Promise<void> {
  const s = await connectTransactionStream(nats.url);
  try {
    await s.jsm.streams.delete(TRANSACTION_STREAM);
  } finally {
    await s.close();
  }
}

function env(dataDir: string, store: string | undefined): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    BOLSILLO_PSEUDONYM_SECRET: SECRET,
    BOLSILLO_NATS_URL: nats.url,
  };
  if (store === undefined) delete e.BOLSILLO_ONLINE_STORE;
  else e.BOLSILLO_ONLINE_STORE = store;
  return e;
}

/** A CLI of the repository in its own process, as the pipeline runs it. */
function cli(script: string, args: string[], e: NodeJS.ProcessEnv): string {
  const r = spawnSync(TSX, [script, ...args], { cwd: ROOT, env: e, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stderr + r.stdout;
}

function startCli(
  script: string,
  args: string[],
  e: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // Node itself with tsx's loader, not the tsx launcher: the launcher runs the script in a child
  // process, so a SIGKILL sent to it would leave the script running.
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

function request(p: TransactionPush): PredictionRequest {
  const { txn_id: _t, ...r } = p;
  return r;
}

const features = (row: Record<string, unknown>) => Object.fromEntries(FEATURE_NAMES.map((n) => [n, row[n]]));

async function storeStates(store: OnlineStore): Promise<Record<string, unknown>> {
  const keys = (await store.customerKeys()).sort();
  const states = await store.getStates(keys);
  return Object.fromEntries(keys.map((k, i) => [k, JSON.parse(JSON.stringify(states[i]))]));
}

/** The batch path on the real file: lake, feature store, snapshot; and the file as pushes. */
interface Offline {
  readonly snapshot: OnlineStoreSnapshot;
  readonly rows: Map<string, FeatureRow>;
  readonly pushes: TransactionPush[];
  readonly csv: string;
}
let offline: Offline | null = null;
function batchPath(): Offline {
  if (offline) return offline;
  const dir = path.join(tmp, 'offline');
  const raw = path.join(dir, 'raw');
  fs.mkdirSync(raw, { recursive: true });
  const csv = path.join(raw, 'MiBolsillo.csv');
  fs.copyFileSync(realDataPath(), csv); // into os.tmpdir(), never the repo
  const e = { ...env(dir, undefined), RAW_DIR: raw };
  cli('packages/ingest/src/cli.ts', [], e);
  cli('packages/features/src/cli.ts', [], e);
  const jsonl = path.join(tmp, 'pushes.jsonl');
  cli('packages/ingest/src/produce-cli.ts', ['--csv', csv, '--jsonl', jsonl], e);
  const layout = dataLayout(dir);
  const rows = new Map<string, FeatureRow>();
  for (const p of listPartitions(layout.featureStore))
    for (const f of p.files) for (const r of rowsFromTable<FeatureRow>(readParquetFile(f))) rows.set(r.txn_id, r);
  const pushes = fs
    .readFileSync(jsonl, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TransactionPush);
  offline = { snapshot: readOnlineStore(path.join(layout.onlineStore, ONLINE_STORE_FILE))!, rows, pushes, csv };
  return offline;
}

/** The API over a fresh data folder whose store starts empty (with the batch path's params), listening on a free port. */
async function liveApi(
  name: string,
  storeUrl: string | undefined,
  params: OnlineStoreSnapshot['params'],
): Promise<{ serving: Serving; url: string; close(): Promise<void> }> {
  const dataDir = path.join(tmp, name);
  const store = await openOnlineStore({
    url: storeUrl,
    embeddedDir: dataLayout(dataDir).onlineEmbedded,
    namespace: name,
  });
  await store.materialise({ params, as_of: '', customers: {} });
  const serving = createServing({
    dataDir,
    load: loadModel,
    secret: SECRET,
    pollMs: 0,
    logFlushMs: 50,
    log: () => undefined,
    store,
  });
  await serving.start();
  const server = createApp({ serving, registry: evaluateRegistryOps(), adminKey: null, log: () => undefined }).listen(
    0,
  );
  await new Promise((r) => server.once('listening', r));
  return {
    serving,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise((r) => server.close(r));
      await serving.close();
    },
  };
}

/**
 * The features the API serves for a transaction, from the online store as it is now, equal the batch
 * path's features of that transaction (exactly: toEqual compares numbers with Object.is).
 */
async function expectServedOffline(serving: Serving, p: TransactionPush, rows: Map<string, FeatureRow>): Promise<void> {
  const f = serving.features;
  const req = request(p);
  const pending = f.prefetch([req]);
  const served = pending === null ? f.featuresFor(req) : f.withStates(await pending, () => f.featuresFor(req));
  expect({ txn_id: p.txn_id, ...served.features }).toEqual({
    txn_id: p.txn_id,
    ...features(rows.get(p.txn_id)! as unknown as Record<string, unknown>),
  });
}

async function post(url: string, body: unknown): Promise<{ results: { txn_id: string; status: string }[] }> {
  const res = await fetch(`${url}/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`POST /transactions: ${res.status} ${await res.text()}`);
  return (await res.json()) as { results: { txn_id: string; status: string }[] };
}

describe('live online store', () => {
  for (const backend of ['embedded', 'redis'] as const) {
    itRealData(
      `${backend}: pushing the real file in order over HTTP serves the batch path's features before each push and leaves its states`,
      async () => {
        const { snapshot, rows, pushes } = batchPath();
        const api = await liveApi(`http-${backend}`, backend === 'redis' ? redis.url : undefined, snapshot.params);
        try {
          const f = api.serving.features;
          for (const p of pushes) {
            await expectServedOffline(api.serving, p, rows);
            expect((await post(api.url, p)).results[0]!.status).toBe('applied');
          }
          expect(await storeStates(f.store)).toEqual(snapshot.customers);
          // Everything again: all duplicates, nothing changes.
          const again = await post(api.url, pushes.slice(0, 1000));
          expect(new Set(again.results.map((r) => r.status))).toEqual(new Set(['duplicate']));
          expect(await storeStates(f.store)).toEqual(snapshot.customers);
          const landed = readLanding(dataLayout(path.join(tmp, `http-${backend}`)).landing);
          expect(landed.map((t) => t.txn_id)).toEqual(pushes.map((p) => p.txn_id));
        } finally {
          await api.close();
        }
      },
      600_000,
    );

    itRealData(
      `${backend}: streaming the real file through JetStream, the consumer serves the batch path's features after each message and leaves its states, landed once`,
      async () => {
        const { snapshot, rows, pushes, csv } = batchPath();
        const name = `stream-${backend}`;
        const api = await liveApi(name, backend === 'redis' ? redis.url : undefined, snapshot.params);
        await emptyStream();
        const stream = await connectTransactionStream(nats.url);
        try {
          cli('packages/ingest/src/produce-cli.ts', ['--csv', csv], env(path.join(tmp, name), undefined));
          // The consumer in this process, one message per batch, over the API's store and push path: after
          // each message is folded, the next transaction is served the batch path's features.
          await expectServedOffline(api.serving, pushes[0]!, rows);
          let folded = 0;
          const summary = await runConsumer({
            stream,
            push: api.serving.push,
            durable: `parity-${backend}`,
            batch: 1,
            idleExitMs: 1_500,
            log: () => undefined,
            onBatch: async () => {
              folded += 1;
              if (folded < pushes.length) await expectServedOffline(api.serving, pushes[folded]!, rows);
            },
          });
          expect(summary).toEqual({
            messages: pushes.length,
            replayed: 0,
            applied: pushes.length,
            duplicate: 0,
            late: 0,
            invalid: 0,
          });
          expect(folded).toBe(pushes.length);
          expect(await storeStates(api.serving.features.store)).toEqual(snapshot.customers);
          const landed = readLanding(dataLayout(path.join(tmp, name)).landing);
          expect(landed.map((t) => t.txn_id)).toEqual(pushes.map((p) => p.txn_id));
        } finally {
          await stream.close();
          await api.close();
        }
      },
      600_000,
    );
  }

  it('two API processes pushing the same customers concurrently to one Redis lose no update and apply each transaction once', async () => {
    const dataDir = path.join(tmp, 'two-apis');
    const storeUrl = `${redis.url}/1`;
    const ports = await Promise.all([freePort(), freePort()]);
    const apis = ports.map((port) =>
      startCli('apps/api/src/main.ts', [], { ...env(dataDir, storeUrl), PORT: String(port) }),
    );
    try {
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      for (const u of urls) {
        for (let attempt = 0; ; attempt += 1) {
          const ok = await fetch(`${u}/health`).then(
            (r) => r.ok,
            () => false,
          );
          if (ok) break;
          if (attempt > 600) throw new Error(`API at ${u} did not start: ${apis.map((a) => a.output()).join('\n')}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // Identical transactions but for their ids fold to the same state in any order, so the final
      // state is known whatever the interleaving; a lost update leaves a smaller count.
      const customers = Array.from({ length: 12 }, (_, c) => `live-${c}`);
      const txns = customers.flatMap((c) =>
        Array.from({ length: 30 }, (_, i) => ({ ...TRANSACTION_PUSH_EXAMPLE, customer_id: c, txn_id: `${c}-${i}` })),
      );
      // Each process gets every transaction, in batches of 5, in a different order; the batches race.
      const order = [txns, [...txns].reverse()];
      const results = await Promise.all(
        urls.map(async (u, k) => {
          const statuses: string[] = [];
          const list = order[k]!;
          for (let i = 0; i < list.length; i += 5)
            statuses.push(...(await post(u, list.slice(i, i + 5))).results.map((r) => r.status));
          return statuses;
        }),
      );
      const all = results.flat();
      expect(all.filter((s) => s === 'applied')).toHaveLength(txns.length);
      expect(all.filter((s) => s === 'duplicate')).toHaveLength(txns.length);

      const store = await openOnlineStore({ url: storeUrl, embeddedDir: '' });
      const probe = createServing({
        dataDir: path.join(tmp, 'probe'),
        load: loadModel,
        secret: SECRET,
        pollMs: 0,
        log: () => undefined,
        store,
      });
      try {
        const { txn_id: _t, customer_id: _c, ...fields } = TRANSACTION_PUSH_EXAMPLE;
        for (const c of customers) {
          const key = probe.features.keyFor({ ...TRANSACTION_PUSH_EXAMPLE, customer_id: c })!;
          let expected = emptyCustomerState();
          for (let i = 0; i < 30; i += 1) expected = updateCustomerState(expected, { ...fields, customer_key: key });
          expect(JSON.stringify((await store.getStates([key]))[0])).toBe(JSON.stringify(expected));
        }
      } finally {
        await probe.close();
      }
      // Landed by one process or the other: every transaction at least once (ingest keeps one per id).
      const landed = new Set(readLanding(dataLayout(dataDir).landing).map((t) => t.txn_id));
      expect(landed.size).toBe(txns.length);
    } finally {
      for (const a of apis) a.child.kill('SIGTERM');
      await Promise.all(apis.map((a) => a.exited));
    }
  }, 600_000);

  for (const backend of ['embedded', 'redis'] as const)
    itRealData(
      `${backend}: a consumer killed with SIGKILL mid-stream and restarted ends with the same states and landing as an uninterrupted one`,
      async () => {
        const { snapshot, csv, pushes } = batchPath();
        // Each run its own Redis database: the consumer writes the default namespace.
        const storeUrls = { uninterrupted: `${redis.url}/2`, killed: `${redis.url}/3` };
        const run = async (name: 'uninterrupted' | 'killed', kill: boolean) => {
          const dataDir = path.join(tmp, `${backend}-${name}`);
          const storeUrl = backend === 'redis' ? storeUrls[name] : undefined;
          const e = env(dataDir, storeUrl);
          const open = () => openOnlineStore({ url: storeUrl, embeddedDir: dataLayout(dataDir).onlineEmbedded });
          const store = await open();
          await store.materialise({ params: snapshot.params, as_of: '', customers: {} });
          await store.close();
          const args = [
            '--durable',
            `${backend}-${name}`,
            '--writer',
            'consumer',
            '--batch',
            '20',
            '--idle-exit-ms',
            '1500',
          ];
          if (kill) {
            const first = startCli('packages/serve/src/consume-cli.ts', args, e);
            const file = () => {
              const dir = path.join(dataLayout(dataDir).landing, 'consumer');
              const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
              return files.length === 0 ? 0 : fs.readFileSync(path.join(dir, files[0]!), 'utf8').split('\n').length - 1;
            };
            // Kill once a fifth of the stream has landed (condition-based: poll the landing file).
            while (file() < pushes.length / 5) {
              if (first.child.exitCode !== null) throw new Error(`consumer exited before the kill: ${first.output()}`);
              await new Promise((r) => setTimeout(r, 10));
            }
            first.child.kill('SIGKILL');
            expect(await first.exited).toBeNull();
            expect(file()).toBeLessThan(pushes.length); // killed mid-stream
          }
          // Whatever the killed run left un-acked is pushed again first, in stream order: nothing is late.
          const out = cli('packages/serve/src/consume-cli.ts', args, e);
          expect(out).toMatch(/ messages: \d+ applied, \d+ duplicate, 0 late, 0 invalid/);
          if (!kill)
            expect(out).toContain(
              `${pushes.length} messages: ${pushes.length} applied, 0 duplicate, 0 late, 0 invalid`,
            );
          const reopened = await open();
          try {
            const landingDir = path.join(dataLayout(dataDir).landing, 'consumer');
            return {
              states: await storeStates(reopened),
              landing: fs
                .readdirSync(landingDir)
                .map((f) => fs.readFileSync(path.join(landingDir, f), 'utf8'))
                .join(''),
            };
          } finally {
            await reopened.close();
          }
        };
        await emptyStream();
        cli(
          'packages/ingest/src/produce-cli.ts',
          ['--csv', csv],
          env(path.join(tmp, `${backend}-kill-produce`), undefined),
        );
        const clean = await run('uninterrupted', false);
        const killed = await run('killed', true);
        expect(clean.states).toEqual(snapshot.customers);
        expect(killed.states).toEqual(clean.states);
        expect(killed.landing).toBe(clean.landing);
        const ids = killed.landing
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { txn_id: string }).txn_id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(pushes.length);
      },
      600_000,
    );
});
