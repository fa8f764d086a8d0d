import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { createClient } from 'redis';
import {
  DEFAULT_FEATURE_PARAMS,
  emptyCustomerState,
  updateCustomerState,
  type CustomerState,
  type FeatureInput,
} from '../feature-kernel/kernel';
import type { OnlineStoreSnapshot } from '../feature-kernel/online-store';
import { startRedisServer, type LocalService } from './local-services';
import { openOnlineStore } from './open';
import { snapshotVersion, type OnlineStore, type PushedTransaction } from './online-store';
import { baseInput as base } from './fixtures.test-util';
import { SnapshotFile } from './snapshot-file';

const push = (id: string, over: Partial<FeatureInput> = {}): PushedTransaction => ({ ...base, ...over, txn_id: id });
const json = (s: CustomerState | undefined) => JSON.stringify(s);

let redis: LocalService;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-online-store-'));
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A backend: how to open a store, and how many keys a version holds (what a failed materialisation leaves). */
type Backend = [string, (name: string) => Promise<OnlineStore>, (name: string, version: string) => Promise<number>];
const backends: Backend[] = [
  [
    'embedded',
    (name) => openOnlineStore({ embeddedDir: path.join(tmp, name) }),
    async (name, version) => {
      const env = openLmdb<string, string>({ path: path.join(tmp, name, 'store.mdb'), noSubdir: true, maxDbs: 16 });
      try {
        return env.openDB<string, string>({ name: `v:${version}`, encoding: 'string' }).getKeysCount();
      } finally {
        await env.close();
      }
    },
  ],
  [
    'redis',
    (name) => openOnlineStore({ url: redis.url, embeddedDir: '', namespace: `t:${name}` }),
    async (name, version) => {
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        return (await client.keys(`t:${name}:v:${version}:*`)).length;
      } finally {
        await client.quit();
      }
    },
  ],
];

/** A snapshot of `n` customers (more than a materialisation batch of either backend when n is large). */
function manyCustomers(n: number): OnlineStoreSnapshot {
  const customers: OnlineStoreSnapshot['customers'] = {};
  for (let i = 0; i < n; i++)
    customers[i.toString(16).padStart(64, '0')] = updateCustomerState(emptyCustomerState(), {
      ...base,
      amount: i,
      merchant_group: i % 3 === 0 ? 'AUTO PEÇAS' : 'VESTUARIO',
    });
  return { params: DEFAULT_FEATURE_PARAMS, as_of: '2020-01-04', customers };
}

describe.each(backends)('online store, %s backend', (_backend, open, versionKeys) => {
  it('folds pushes with the kernel, once per transaction id, and refuses to fold out of time order', async () => {
    const store = await open('fold');
    try {
      const a = 'a'.repeat(64);
      const history = [
        push('t1', { date: '2020-01-02' }),
        push('t2', { date: '2020-01-03', amount: null }),
        push('t3', { date: '2020-01-03', available_limit: 10, merchant_group: 'SUPERMERCADOS' }),
      ];
      let expected = emptyCustomerState();
      for (const t of history) {
        expect(await store.apply(t)).toBe('applied');
        const { txn_id: _id, ...input } = t;
        expected = updateCustomerState(expected, input);
      }
      expect(json((await store.getStates([a]))[0])).toBe(json(expected));
      expect(await store.apply(history[1]!)).toBe('duplicate');
      expect(await store.isApplied(a, 't2')).toBe(true);
      expect(await store.apply(push('t0', { date: '2020-01-01' }))).toBe('late');
      expect(await store.apply(push('t0', { date: '2020-01-01' }))).toBe('duplicate');
      expect(json((await store.getStates([a, 'b'.repeat(64)]))[0])).toBe(json(expected));
      expect((await store.getStates(['b'.repeat(64)]))[0]).toBeUndefined();
      expect(await store.customerKeys()).toEqual([a]);
    } finally {
      await store.close();
    }
  });

  it('materialises a snapshot under its content hash and switches to it whole; pushes start again from it', async () => {
    const store = await open('switch');
    try {
      const s1 = updateCustomerState(emptyCustomerState(), base);
      const snap1: OnlineStoreSnapshot = {
        params: DEFAULT_FEATURE_PARAMS,
        as_of: '2020-01-04',
        customers: { ['c'.repeat(64)]: s1, ['d'.repeat(64)]: emptyCustomerState() },
      };
      const v1 = await store.materialise(snap1);
      expect(v1).toBe(snapshotVersion(snap1));
      expect(await store.info()).toEqual({
        version: v1,
        as_of: '2020-01-04',
        params: DEFAULT_FEATURE_PARAMS,
        customers: 2,
      });
      expect(json((await store.getStates(['c'.repeat(64)]))[0])).toBe(json(s1));
      expect(await store.apply(push('p1', { customer_key: 'c'.repeat(64), date: '2020-01-05' }))).toBe('applied');

      const file = path.join(tmp, `snap-${_backend}.json`);
      const snap2: OnlineStoreSnapshot = { ...snap1, as_of: '2020-01-06', customers: { ['e'.repeat(64)]: s1 } };
      fs.writeFileSync(file, `${JSON.stringify(snap2)}\n`);
      const v2 = await store.materialiseFile(file);
      expect(v2).toBe(snapshotVersion(snap2));
      expect(await store.materialiseFile(file)).toBe(v2); // unchanged content: no new version
      expect((await store.info())?.version).toBe(v2);
      expect(await store.customerKeys()).toEqual(['e'.repeat(64)]);
      // The transaction pushed to the previous version is not known to the new one.
      expect(await store.isApplied('c'.repeat(64), 'p1')).toBe(false);
      expect(await store.materialiseFile(path.join(tmp, 'missing.json'))).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('materialises a file customer by customer, never reading it whole', async () => {
    const store = await open('stream');
    const readFileSync = jest.spyOn(fs, 'readFileSync');
    try {
      const snap = manyCustomers(25_000);
      const file = path.join(tmp, `many-${_backend}.json`);
      fs.writeFileSync(file, `${JSON.stringify(snap)}\n`);
      readFileSync.mockClear();
      const version = await store.materialiseFile(file);
      expect(readFileSync.mock.calls.filter(([f]) => f === file)).toEqual([]);
      expect(version).toBe(snapshotVersion(snap));
      expect(await store.info()).toEqual({
        version,
        as_of: '2020-01-04',
        params: DEFAULT_FEATURE_PARAMS,
        customers: 25_000,
      });
      const keys = Object.keys(snap.customers);
      const probe = [keys[0]!, keys[12_345]!, keys[24_999]!];
      expect((await store.getStates(probe)).map(json)).toEqual(probe.map((k) => json(snap.customers[k])));
      expect((await store.customerKeys()).length).toBe(25_000);
    } finally {
      readFileSync.mockRestore();
      await store.close();
    }
  }, 60_000);

  it('a file that breaks after many customers: a clear error, the current version untouched, nothing left behind', async () => {
    const store = await open('broken');
    try {
      const good = manyCustomers(3);
      const v1 = await store.materialise(good);
      // Valid up to its last customers: the first batches are written before the break is read.
      const text = `${JSON.stringify(manyCustomers(25_000))}\n`;
      const file = path.join(tmp, `broken-${_backend}.json`);
      fs.writeFileSync(file, `${text.slice(0, text.length - 40)},"x":}}\n`);
      const broken = SnapshotFile.open(file)!.version();
      await expect(store.materialiseFile(file)).rejects.toThrow(`${file}: not valid JSON`);
      expect(await store.info()).toEqual({
        version: v1,
        as_of: '2020-01-04',
        params: DEFAULT_FEATURE_PARAMS,
        customers: 3,
      });
      expect((await store.customerKeys()).sort()).toEqual(Object.keys(good.customers));
      expect(await versionKeys('broken', broken)).toBe(0);
      // A store whose params are not a store's: refused before any customer is written.
      fs.writeFileSync(file, JSON.stringify({ ...good, params: { essentialGroups: 'SERVIÇO' } }));
      await expect(store.materialiseFile(file)).rejects.toThrow(`${file}: not an online feature store`);
      expect((await store.info())?.version).toBe(v1);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('loses no update when two clients push the same customers concurrently', async () => {
    const one = await open('race');
    const two = await open('race');
    try {
      // Identical transactions (but for their ids) fold to the same state in any order, so the final
      // state is known whatever the interleaving; a lost update would leave a smaller count.
      const customers = ['1', '2', '3'].map((c) => c.repeat(64));
      const txns = customers.flatMap((c) =>
        Array.from({ length: 40 }, (_, i) => push(`${c.slice(0, 1)}-${i}`, { customer_key: c })),
      );
      const outcomes = await Promise.all([...txns.map((t) => one.apply(t)), ...txns.map((t) => two.apply(t))]);
      expect(outcomes.filter((o) => o === 'applied')).toHaveLength(txns.length);
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(txns.length);
      let expected = emptyCustomerState();
      for (let i = 0; i < 40; i += 1) expected = updateCustomerState(expected, base);
      for (const s of await one.getStates(customers)) expect(json(s)).toBe(json(expected));
    } finally {
      await one.close();
      await two.close();
    }
  });
});
