import request from 'supertest';
import { customerKey, dataLayout, emptyCustomerState, updateCustomerState } from '@bolsillo/core';
import { PREDICTION_EXAMPLE, TRANSACTION_PUSH_EXAMPLE } from '@bolsillo/schema';
import { readLanding } from '@bolsillo/serve';
import { testServer, type TestServer } from './test-server.test-util';

describe('POST /transactions', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(() => s.close());

  const key = customerKey('test-secret', { id: PREDICTION_EXAMPLE.customer_id, ...PREDICTION_EXAMPLE });

  it('folds the documented example into the customer state once, lands it once, and the next prediction sees it', async () => {
    const before = s.serving.features.featuresFor({ ...PREDICTION_EXAMPLE, date: '2020-05-09' });
    expect(before.known).toBe(false);
    const first = await request(s.app).post('/transactions').send(TRANSACTION_PUSH_EXAMPLE).expect(200);
    expect(first.body).toEqual({ results: [{ txn_id: TRANSACTION_PUSH_EXAMPLE.txn_id, status: 'applied' }] });
    const again = await request(s.app).post('/transactions').send([TRANSACTION_PUSH_EXAMPLE]).expect(200);
    expect(again.body.results[0].status).toBe('duplicate');

    const { txn_id: _t, customer_id: _c, ...fields } = TRANSACTION_PUSH_EXAMPLE;
    const expected = updateCustomerState(emptyCustomerState(), { ...fields, customer_key: key });
    expect(JSON.stringify((await s.serving.features.store.getStates([key]))[0])).toBe(JSON.stringify(expected));
    const after = s.serving.features.featuresFor({ ...PREDICTION_EXAMPLE, date: '2020-05-09' });
    expect(after.known).toBe(true);
    expect(after.features.days_since_prev).toBe(1);

    const landed = readLanding(dataLayout(s.dataDir).landing);
    expect(landed).toHaveLength(1);
    expect(landed[0]).toMatchObject({
      txn_id: TRANSACTION_PUSH_EXAMPLE.txn_id,
      customer_key: key,
      date: '2020-05-08',
      source_line: 1,
    });
    expect(JSON.stringify(landed)).not.toContain(PREDICTION_EXAMPLE.customer_id);
  });

  it('applies a batch in order, answers late for a transaction older than the state, and rejects invalid bodies with problem+json', async () => {
    const batch = [
      { ...TRANSACTION_PUSH_EXAMPLE, txn_id: 'b-1', date: '2020-05-10' },
      { ...TRANSACTION_PUSH_EXAMPLE, txn_id: 'b-2', date: '2020-05-11' },
      { ...TRANSACTION_PUSH_EXAMPLE, txn_id: 'b-3', date: '2020-05-01' },
    ];
    const res = await request(s.app).post('/transactions').send(batch).expect(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied', 'late']);

    const { customer_id: _c, ...anonymous } = TRANSACTION_PUSH_EXAMPLE;
    const bad = await request(s.app)
      .post('/transactions')
      .send({ ...anonymous, age: 5 })
      .expect(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.errors.join(' ')).toMatch(/customer_id/);
    expect(bad.body.errors.join(' ')).toMatch(/age/);
    const date = await request(s.app)
      .post('/transactions')
      .send({ ...TRANSACTION_PUSH_EXAMPLE, txn_id: 'x', date: '2020-02-31' })
      .expect(400);
    expect(date.body.errors.join(' ')).toMatch(/date/);
    expect(readLanding(dataLayout(s.dataDir).landing).map((t) => t.txn_id)).toEqual([
      TRANSACTION_PUSH_EXAMPLE.txn_id,
      'b-1',
      'b-2',
      'b-3',
    ]);
  });

  it('counts pushed transactions by outcome on /metrics', async () => {
    const counts = async () => {
      const text = (await request(s.app).get('/metrics').expect(200)).text;
      return Object.fromEntries(
        ['applied', 'duplicate', 'late', 'invalid'].map((o) => {
          const m = new RegExp(`^bolsillo_transaction_pushes_total\\{outcome="${o}"\\} (\\d+)$`, 'm').exec(text);
          return [o, Number(m?.[1])];
        }),
      );
    };
    const before = await counts();
    const m = { ...TRANSACTION_PUSH_EXAMPLE, customer_id: 'metrics-1' };
    await request(s.app)
      .post('/transactions')
      .send([
        { ...m, txn_id: 'm-1', date: '2020-05-10' },
        { ...m, txn_id: 'm-2', date: '2020-05-12' },
        { ...m, txn_id: 'm-3', date: '2020-05-11' },
      ])
      .expect(200);
    await request(s.app)
      .post('/transactions')
      .send({ ...m, txn_id: 'm-1', date: '2020-05-10' })
      .expect(200);
    // Refused whole: both transactions of the batch count as invalid.
    await request(s.app)
      .post('/transactions')
      .send([
        { ...m, txn_id: 'm-4' },
        { ...m, txn_id: 'm-5', date: '2020-02-30' },
      ])
      .expect(400);
    const after = await counts();
    expect({
      applied: after.applied! - before.applied!,
      duplicate: after.duplicate! - before.duplicate!,
      late: after.late! - before.late!,
      invalid: after.invalid! - before.invalid!,
    }).toEqual({ applied: 2, duplicate: 1, late: 1, invalid: 2 });
  });

  it('reports the online store on /ready', async () => {
    const ready = (await request(s.app).get('/ready').expect(200)).body;
    expect(ready.online_store).toEqual({ backend: 'embedded', version: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('is in the OpenAPI document with an example that validates', async () => {
    const doc = (await request(s.app).get('/openapi.json').expect(200)).body;
    const op = doc.paths['/transactions'].post;
    expect(op.requestBody.content['application/json'].examples.single.value).toEqual(TRANSACTION_PUSH_EXAMPLE);
    expect(doc.components.schemas.TransactionPush.required).toContain('txn_id');
  });
});
