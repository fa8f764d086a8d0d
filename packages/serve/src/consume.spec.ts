/**
 * The stream consumer against a real nats-server (started on a free port): a run that crashes with
 * messages fetched but not acked, and the run after it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  TRANSACTION_STREAM,
  TRANSACTION_SUBJECT,
  connectTransactionStream,
  emptyCustomerState,
  ensureTransactionConsumer,
  openEmbeddedOnlineStore,
  startNatsServer,
  updateCustomerState,
  type LocalService,
} from '@bolsillo/core';
import { TRANSACTION_PUSH_EXAMPLE, type TransactionPush } from '@bolsillo/schema';
import { runConsumer } from './consume';
import { LandingWriter, readLanding } from './landing';
import { OnlineFeatures } from './online-features';
import { PushService } from './push';

const SECRET = 'consume-spec-secret';

let nats: LocalService;
let dir: string;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-consume-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Three customers, twenty transactions each on successive days, interleaved in date order. */
function transactions(): TransactionPush[] {
  const out: TransactionPush[] = [];
  for (let day = 0; day < 20; day += 1)
    for (let c = 0; c < 3; c += 1)
      out.push({
        ...TRANSACTION_PUSH_EXAMPLE,
        customer_id: `consume-${c}`,
        txn_id: `consume-${c}-${day}`,
        date: `2020-04-${String(day + 1).padStart(2, '0')}`,
        amount: 10 + day * 3 + c,
      });
  return out;
}

describe('runConsumer', () => {
  it('after a crash with a fetched batch half applied and never acked, folds every transaction once and in order', async () => {
    const store = openEmbeddedOnlineStore(path.join(dir, 'online'));
    await store.materialise({ params: DEFAULT_FEATURE_PARAMS, as_of: '', customers: {} });
    const features = new OnlineFeatures({
      store,
      snapshotFile: path.join(dir, 'customers.json'),
      secret: SECRET,
      log: () => undefined,
    });
    const keyFor = (p: TransactionPush) => features.keyFor(p)!;
    const durable = `crash-${path.basename(dir)}`;
    const txns = transactions();

    const crashed = await connectTransactionStream(nats.url);
    await crashed.jsm.streams.purge(TRANSACTION_STREAM);
    for (const t of txns) await crashed.js.publish(TRANSACTION_SUBJECT, JSON.stringify(t), { msgID: t.txn_id });
    await ensureTransactionConsumer(crashed, durable);
    // The crashed run: fetched 25 messages, landed and applied the first 10, landed 5 more, then died
    // without acking any of them.
    const consumer = await crashed.js.consumers.get(TRANSACTION_STREAM, durable);
    const fetched: TransactionPush[] = [];
    for await (const m of await consumer.fetch({ max_messages: 25, expires: 2_000 }))
      fetched.push(JSON.parse(m.string()) as TransactionPush);
    expect(fetched).toEqual(txns.slice(0, 25));
    const before = LandingWriter.open(path.join(dir, 'landing'), 'consumer');
    await new PushService({ store, landing: before, keyFor }).push(fetched.slice(0, 10), true);
    await before.append(
      fetched.slice(10, 15).map(({ customer_id: _c, ...t }) => ({ ...t, customer_key: keyFor(t as TransactionPush) })),
    );
    await crashed.nc.close();

    // The restarted run, as the CLI opens it: the landing writer reads back what it landed.
    const stream = await connectTransactionStream(nats.url);
    const logs: string[] = [];
    try {
      const landing = LandingWriter.open(path.join(dir, 'landing'), 'consumer');
      const summary = await runConsumer({
        stream,
        push: new PushService({ store, landing, keyFor }),
        durable,
        batch: 8,
        idleExitMs: 300,
        log: (m) => logs.push(m),
      });
      await landing.flush();
      expect(summary).toEqual({
        messages: txns.length,
        replayed: 25,
        applied: txns.length - 10,
        duplicate: 10,
        late: 0,
        invalid: 0,
      });
      expect(logs.join('\n')).toContain('pushing stream sequences 1..25 again, in order');
    } finally {
      await stream.close();
    }

    for (let c = 0; c < 3; c += 1) {
      const key = keyFor({ ...TRANSACTION_PUSH_EXAMPLE, customer_id: `consume-${c}` });
      let expected = emptyCustomerState();
      for (const { txn_id: _t, customer_id: _c, ...fields } of txns.filter((t) => t.customer_id === `consume-${c}`))
        expected = updateCustomerState(expected, { ...fields, customer_key: key });
      expect(JSON.stringify((await store.getStates([key]))[0])).toBe(JSON.stringify(expected));
    }
    expect(readLanding(path.join(dir, 'landing')).map((t) => t.txn_id)).toEqual(txns.map((t) => t.txn_id));
    await store.close();
  }, 60_000);
});
