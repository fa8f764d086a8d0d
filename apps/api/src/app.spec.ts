import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import {
  customerKey,
  dataLayout,
  emptyCustomerState,
  readJsonl,
  updateCustomerState,
  writeJsonAtomic,
  type FeatureInput,
} from '@bolsillo/core';
import { readAliases, readAudit } from '@bolsillo/model';
import {
  MAX_BATCH,
  PREDICTION_EXAMPLE,
  PredictionLogEntrySchema,
  PredictionResponseSchema,
  validatorFor,
  type PredictionLogEntry,
  type PredictionResponse,
} from '@bolsillo/schema';
import { renderMonitoringPage } from '@bolsillo/monitor';
import { registerDemoChallenger, registerDemoModel } from '@bolsillo/serve';
import { testServer, type TestServer } from './test-server.test-util';

const validResponse = validatorFor(PredictionResponseSchema);
const validLogEntry = validatorFor(PredictionLogEntrySchema);
const KEY = 'test-admin-key';

function logEntries(dataDir: string): PredictionLogEntry[] {
  const root = path.join(dataLayout(dataDir).monitoring, 'predictions');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .flatMap((d) =>
      fs.readdirSync(path.join(root, d)).flatMap((f) => readJsonl<PredictionLogEntry>(path.join(root, d, f))),
    );
}

describe('API routes', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(() => s.close());

  it('answers the documented example: the exact flag with its conditions, the forecast and its alert, version header, contributions', async () => {
    const res = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
    const body = res.body as PredictionResponse;
    expect(validResponse(body)).toBe(true);
    expect(body.probability).toBeGreaterThanOrEqual(0);
    expect(body.probability).toBeLessThanOrEqual(1);
    // 620 of 7,750 left (8%) at VESTUARIO: the flag fires, whatever the model says.
    expect(body.is_revenge_spending).toBe(true);
    expect(body.flag).toEqual({
      available_ratio: 620 / 7750,
      threshold: 0.2,
      below_threshold: true,
      non_essential: true,
    });
    expect(body.horizon_days).toBe(7);
    expect(body.alert).toBe(body.probability >= body.threshold);
    expect(body.model_version).toBe(s.champion);
    expect(body.variant).toBe('champion');
    expect(res.headers['x-model-version']).toBe(s.champion);
    expect(res.headers['x-request-id']).toBe(body.request_id);
    expect(Object.keys(body.contributions ?? {}).sort()).toEqual(
      s.serving.host.slot('champion')!.model.card.features.slice().sort(),
    );
  });

  it('scores a batch in input order, one request id each', async () => {
    const low = { ...PREDICTION_EXAMPLE, available_limit: 50 };
    const high = { ...PREDICTION_EXAMPLE, available_limit: 4600 };
    const res = await request(s.app).post('/predict').send([low, high, low]).expect(200);
    const preds = res.body.predictions as PredictionResponse[];
    expect(preds).toHaveLength(3);
    expect(preds.map((p) => p.is_revenge_spending)).toEqual([true, false, true]);
    expect(new Set(preds.map((p) => p.request_id)).size).toBe(3);
    expect(preds[0]!.probability).toBeCloseTo(preds[2]!.probability, 12);
    // The demo model weighs utilisation like the real target: little available limit → higher risk.
    expect(preds[0]!.probability).toBeGreaterThan(preds[1]!.probability);
  });

  it('rejects a batch over the documented maximum', async () => {
    const res = await request(s.app)
      .post('/predict')
      .send(new Array(MAX_BATCH + 1).fill(PREDICTION_EXAMPLE))
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors.join(' ')).toContain(String(MAX_BATCH));
    const empties = await request(s.app).post('/predict').send(new Array(MAX_BATCH).fill({})).expect(400);
    expect(empties.body.errors).toHaveLength(201);
    expect(empties.body.errors[200]).toMatch(/^\.\.\. and \d+ more$/);
  });

  it('names every invalid field and rejects unknown fields (400 problem+json)', async () => {
    const { merchant_group: _m, ...rest } = PREDICTION_EXAMPLE;
    const res = await request(s.app)
      .post('/predict')
      .send({ ...rest, age: 'thirty', state: 'sp', date: '04.12.2019', amount: -1, colour: 'red' })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    // One message per field, in the request's terms, and a count of fields.
    expect([...(res.body.errors as string[])].sort()).toEqual(
      [
        '/age must be an integer (got "thirty")',
        '/amount must be at least 0 (got -1)',
        '/colour is not a known field',
        '/date must look like "2019-12-04" (got "04.12.2019")',
        '/merchant_group is required',
        '/state must look like "SP" (got "sp")',
      ].sort(),
    );
    expect(res.body.detail).toBe('6 invalid fields');
    expect(res.body.status).toBe(400);
    const union = await request(s.app)
      .post('/predict')
      .send({ ...PREDICTION_EXAMPLE, sex: 'X', amount: 'abc' })
      .expect(400);
    expect(union.body.errors).toEqual([
      '/sex must be one of "F" or "M" (got "X")',
      '/amount must be a number or null (got "abc")',
    ]);
    expect(union.body.detail).toBe('2 invalid fields');
    const impossible = await request(s.app)
      .post('/predict')
      .send([PREDICTION_EXAMPLE, { ...PREDICTION_EXAMPLE, date: '2019-02-30', account_cohort: '201413' }])
      .expect(400);
    expect(impossible.body.errors).toEqual([
      expect.stringContaining('/1/date'),
      expect.stringContaining('/1/account_cohort'),
    ]);
  });

  it('answers malformed JSON with 400, wrong content type with 415, an oversized body with 413', async () => {
    const bad = await request(s.app)
      .post('/predict')
      .set('content-type', 'application/json')
      .send('{"age": 37,')
      .expect(400);
    expect(bad.body.title).toBe('Malformed JSON');
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    const text = await request(s.app).post('/predict').set('content-type', 'text/plain').send('hello').expect(415);
    expect(text.headers['content-type']).toMatch(/application\/problem\+json/);
    const big = await request(s.app)
      .post('/predict')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ city: 'x'.repeat(1_100_000) }))
      .expect(413);
    expect(big.body.title).toBe('Request body too large');
    await request(s.app).post('/predict').expect(400); // no body at all: validation says what is missing
    await request(s.app).post('/predict').set('content-type', 'application/json').send('"just a string"').expect(400);
  });

  it('serves health, readiness, models and an unknown route as a problem', async () => {
    expect((await request(s.app).get('/health').expect(200)).body.status).toBe('ok');
    expect((await request(s.app).get('/ready').expect(200)).body.champion).toBe(s.champion);
    const models = await request(s.app).get('/models').expect(200);
    expect(models.body.aliases.champion).toBe(s.champion);
    expect(models.body.loaded.champion.version).toBe(s.champion);
    expect(models.body.versions.map((v: { version: string }) => v.version)).toContain(s.champion);
    const missing = await request(s.app).get('/nope').expect(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('exports Prometheus metrics: requests, latency histogram, predictions by label and version, model loads', async () => {
    await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
    const text = (await request(s.app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/bolsillo_http_requests_total\{method="POST",route="\/predict",status="200"\} \d+/);
    expect(text).toMatch(/bolsillo_http_request_duration_seconds_bucket\{route="\/predict",le="\+Inf"\} \d+/);
    expect(text).toContain(`bolsillo_predictions_total{label="`);
    expect(text).toContain(`model_version="${s.champion}"`);
    expect(text).toContain(
      `bolsillo_model_load_events_total{alias="champion",result="loaded",version="${s.champion}"} 1`,
    );
  });

  it('publishes an OpenAPI document whose examples work as they are, and Swagger UI at /docs', async () => {
    const doc = (await request(s.app).get('/openapi.json').expect(200)).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['PredictionRequest', 'PredictionResponse', 'Feedback', 'Problem']),
    );
    const examples = doc.paths['/predict'].post.requestBody.content['application/json'].examples;
    const single = await request(s.app).post('/predict').send(examples.single.value).expect(200);
    expect(typeof single.body.probability).toBe('number');
    const batch = await request(s.app).post('/predict').send(examples.batch.value).expect(200);
    expect(batch.body.predictions).toHaveLength(examples.batch.value.length);
    const feedbackExample = doc.paths['/feedback'].post.requestBody.content['application/json'].example;
    // The example's id names no prediction: refused, as any unknown id is.
    await request(s.app).post('/feedback').send(feedbackExample).expect(404);
    await request(s.app)
      .post('/feedback')
      .send({ ...feedbackExample, request_id: single.body.request_id })
      .expect(202);
    const page = await request(s.app).get('/docs/').expect(200);
    expect(page.text).toContain('swagger-ui');
    const init = await request(s.app).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/predict');
  });

  it('logs every prediction (schema-valid lines) and records feedback', async () => {
    const res = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
    await request(s.app)
      .post('/feedback')
      .send({ request_id: res.body.request_id, is_revenge_spending: true })
      .expect(202);
    await request(s.app).post('/feedback').send({ request_id: '', is_revenge_spending: 'yes' }).expect(400);
    const unknown = await request(s.app)
      .post('/feedback')
      .send({ request_id: '3f1c2a9e-0000-4000-8000-000000000000', is_revenge_spending: true })
      .expect(404);
    expect(unknown.body.detail).toMatch(/no prediction with request_id 3f1c2a9e/);
    await s.serving.predictionLog.flush();
    await s.serving.feedbackLog.flush();
    const entries = logEntries(s.dataDir);
    const mine = entries.find((e) => e.request_id === res.body.request_id);
    expect(mine).toBeDefined();
    expect(entries.every((e) => validLogEntry(e))).toBe(true);
    expect(mine!.probability).toBe(res.body.probability);
    expect(mine!.model_version).toBe(s.champion);
    expect(mine!.date).toBe(PREDICTION_EXAMPLE.date);
    const fbRoot = path.join(dataLayout(s.dataDir).monitoring, 'feedback');
    const fb = fs
      .readdirSync(fbRoot)
      .flatMap((d) =>
        fs.readdirSync(path.join(fbRoot, d)).flatMap((f) => readJsonl<{ request_id: string }>(path.join(fbRoot, d, f))),
      );
    expect(fb.map((f) => f.request_id)).toContain(res.body.request_id);
    expect(fb.map((f) => f.request_id)).not.toContain('3f1c2a9e-0000-4000-8000-000000000000');
  });

  it('accepts feedback for a prediction logged by another replica or before a restart', async () => {
    const other = await testServer();
    try {
      const entry = { ...logEntries(s.dataDir)[0]!, request_id: '7d0e8f4b-1111-4000-8000-000000000001' };
      fs.mkdirSync(path.join(dataLayout(other.dataDir).monitoring, 'predictions', `date=${entry.date}`), {
        recursive: true,
      });
      fs.writeFileSync(
        path.join(dataLayout(other.dataDir).monitoring, 'predictions', `date=${entry.date}`, '999-1.jsonl'),
        `${JSON.stringify(entry)}\n`,
      );
      await request(other.app)
        .post('/feedback')
        .send({ request_id: entry.request_id, is_revenge_spending: false })
        .expect(202);
    } finally {
      await other.close();
    }
  });

  it('takes history features from the online store for a known customer', async () => {
    const key = customerKey('test-secret', { id: PREDICTION_EXAMPLE.customer_id, ...PREDICTION_EXAMPLE });
    const { customer_id: _c, ...fields } = PREDICTION_EXAMPLE;
    let state = emptyCustomerState();
    // Three transactions in the 30 days before the example's date, the last one 3 days before it.
    for (const day of ['2020-04-24', '2020-04-29', '2020-05-05']) {
      const txn: FeatureInput = { ...fields, customer_key: key, date: day, amount: 100 };
      state = updateCustomerState(state, txn);
    }
    writeJsonAtomic(path.join(dataLayout(s.dataDir).onlineStore, 'customers.json'), {
      params: s.serving.features.params,
      as_of: '2020-05-05',
      customers: { [key]: state },
    });
    s.serving.features.refresh(true);
    const known = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
    const anonymous = await request(s.app).post('/predict').send(fields).expect(200);
    await s.serving.predictionLog.flush();
    const entries = logEntries(s.dataDir);
    const k = entries.find((e) => e.request_id === known.body.request_id)!;
    const a = entries.find((e) => e.request_id === anonymous.body.request_id)!;
    // Features are as of just after the request's transaction: the three stored ones plus itself.
    expect(k.customer_key).toBe(key);
    expect(k.features.hist_count_30d).toBe(4);
    expect(k.features.days_since_prev).toBe(3);
    expect(known.body.history_found).toBe(true);
    expect(a.customer_key).toBeNull();
    expect(a.features.hist_count_30d).toBe(1);
    expect(anonymous.body.history_found).toBe(false);
    // Dated before the stored history: not point-in-time, so scored without it.
    const past = await request(s.app)
      .post('/predict')
      .send({ ...PREDICTION_EXAMPLE, date: '2020-04-26' })
      .expect(200);
    await s.serving.predictionLog.flush();
    const p = logEntries(s.dataDir).find((e) => e.request_id === past.body.request_id)!;
    expect(p.customer_key).toBe(key);
    expect(p.features.days_since_prev).toBeNull();
    expect(p.features.hist_count_30d).toBe(1);
    expect(past.body.history_found).toBe(false);
  });

  it('serves evaluation reports as static files', async () => {
    const reports = dataLayout(s.dataDir).reports;
    fs.mkdirSync(reports, { recursive: true });
    fs.writeFileSync(path.join(reports, 'index.html'), '<h1>reports</h1>');
    expect((await request(s.app).get('/reports/index.html').expect(200)).text).toContain('reports');
    expect((await request(s.app).get('/reports/').expect(200)).text).toContain('reports');
    await request(s.app).get('/reports/missing.html').expect(404);
    await request(s.app).get('/reports/../../etc/passwd').expect(404);
  });
});

describe('unseen merchant groups', () => {
  it('serves a merchant group the model never saw, and counts it in /metrics by feature and version', async () => {
    const s = await testServer();
    try {
      // The demo champion was trained on master table "demo": a profile without VESTUARIO (the example's group).
      writeJsonAtomic(dataLayout(s.dataDir).masterProfile('demo'), {
        created_from: 'demo',
        rows: 10,
        columns: {
          merchant_group: {
            kind: 'categorical',
            count: 10,
            missing: 0,
            missing_share: 0,
            frequencies: { RESTAURANTE: 6, SUPERMERCADOS: 4 },
          },
        },
      });
      const res = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
      expect(typeof res.body.probability).toBe('number');
      await request(s.app)
        .post('/predict')
        .send({ ...PREDICTION_EXAMPLE, merchant_group: 'RESTAURANTE' })
        .expect(200);
      await request(s.app)
        .post('/predict')
        .send([PREDICTION_EXAMPLE, { ...PREDICTION_EXAMPLE, merchant_group: 'NOVO GRUPO' }])
        .expect(200);
      const metrics = (await request(s.app).get('/metrics').expect(200)).text;
      expect(metrics).toContain(
        `bolsillo_unseen_category_total{feature="merchant_group",model_version="${s.champion}"} 3`,
      );
    } finally {
      await s.close();
    }
  });
});

describe('admin routes', () => {
  it('are forbidden (403) when no admin key is configured, and change nothing', async () => {
    const s = await testServer({ adminKey: null });
    try {
      const other = await registerDemoModel(s.registryDir, 11);
      const before = readAliases(s.registryDir);
      const res = await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', 'anything')
        .send({ version: other })
        .expect(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      await request(s.app).post('/admin/rollback').expect(403);
      expect(readAliases(s.registryDir)).toEqual(before);
    } finally {
      await s.close();
    }
  });

  it('require the right x-api-key (401 otherwise); promote only through the gate, or forced with a reason audited as forced', async () => {
    const s = await testServer();
    try {
      const next = await registerDemoModel(s.registryDir, 11, 1);
      await request(s.app).post('/admin/promote').send({ version: next }).expect(401);
      await request(s.app).post('/admin/promote').set('x-api-key', 'wrong').send({ version: next }).expect(401);
      expect(readAliases(s.registryDir).champion).toBe(s.champion);

      await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', KEY)
        .send({ version: '20990101T000000Z-abcdef' })
        .expect(404);
      await request(s.app).post('/admin/promote').set('x-api-key', KEY).send({ version: next, extra: 1 }).expect(400);
      // Not forced: the evaluate stage's gate decides; with no master table to evaluate on, it cannot pass.
      const refused = await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', KEY)
        .send({ version: next, reason: 'looks better' })
        .expect(409);
      expect(refused.body.detail).toMatch(/the gate could not evaluate/);
      expect(readAliases(s.registryDir).champion).toBe(s.champion);
      expect(readAudit(s.registryDir).filter((e) => e.action === 'promote' && e.version === next)).toEqual([]);
      // Forced: a reason is required, and the audit says forced.
      const noReason = await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', KEY)
        .send({ version: next, force: true })
        .expect(400);
      expect(noReason.body.errors).toEqual([
        '/reason is required when force is true (a forced promotion is audited with its reason)',
      ]);
      await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', KEY)
        .send({ version: next, force: true, reason: '  ' })
        .expect(400);
      expect(readAliases(s.registryDir).champion).toBe(s.champion);
      const promoted = await request(s.app)
        .post('/admin/promote')
        .set('x-api-key', KEY)
        .send({ version: next, force: true, reason: 'incident 42: hotfix model' })
        .expect(200);
      expect(promoted.body).toMatchObject({ serving: next, forced: true, gate: null });
      expect(readAudit(s.registryDir).find((e) => e.action === 'force-promote')).toMatchObject({
        version: next,
        forced: true,
        reason: 'incident 42: hotfix model',
      });
      const after = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
      expect(after.headers['x-model-version']).toBe(next);

      // Rollback needs a reason too, as the rollback command does.
      await request(s.app).post('/admin/rollback').set('x-api-key', KEY).expect(400);
      await request(s.app).post('/admin/rollback').set('x-api-key', KEY).send({ reason: 'hotfix worse' }).expect(200);
      expect(readAudit(s.registryDir).some((e) => e.action === 'rollback' && e.reason === 'hotfix worse')).toBe(true);
      const back = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
      expect(back.headers['x-model-version']).toBe(s.champion);
      // previous is cleared by a rollback: a second one has nothing to go back to.
      await request(s.app).post('/admin/rollback').set('x-api-key', KEY).send({ reason: 'again' }).expect(409);
    } finally {
      await s.close();
    }
  });
});

describe('monitoring page', () => {
  it("serves the monitor stage's dashboard at /monitoring", async () => {
    let dataDir = '';
    const s = await testServer({ monitoringPage: () => renderMonitoringPage(dataDir) });
    dataDir = s.dataDir;
    try {
      const res = await request(s.app).get('/monitoring').expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('<h1>Monitoring</h1>');
    } finally {
      await s.close();
    }
  });
});

describe('readiness and routing', () => {
  it('answers 503 on /ready and /predict until a model is loaded', async () => {
    const s = await testServer({ withChampion: false });
    try {
      await request(s.app).get('/ready').expect(503);
      const res = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(503);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      await request(s.app).get('/health').expect(200);
    } finally {
      await s.close();
    }
  });

  it('splits traffic sticky per customer and names the answering version', async () => {
    const s = await testServer({ routing: { challengerPercent: 50, shadow: false } });
    try {
      const challenger = await registerDemoChallenger(s.registryDir, 13, 2);
      await s.serving.host.checkNow();
      const seen = new Map<string, Set<string>>();
      for (let i = 0; i < 40; i++) {
        const customer = `c-${i % 10}`;
        const res = await request(s.app)
          .post('/predict')
          .send({ ...PREDICTION_EXAMPLE, customer_id: customer })
          .expect(200);
        expect(res.headers['x-model-version']).toBe(res.body.model_version);
        expect(res.body.model_version).toBe(res.body.variant === 'challenger' ? challenger : s.champion);
        seen.set(customer, (seen.get(customer) ?? new Set()).add(res.body.variant));
      }
      for (const variants of seen.values()) expect(variants.size).toBe(1);
      const all = new Set([...seen.values()].flatMap((v) => [...v]));
      expect(all).toEqual(new Set(['champion', 'challenger']));
    } finally {
      await s.close();
    }
  });

  it('in shadow mode the champion answers and the challenger is logged as shadow', async () => {
    const s = await testServer({ routing: { challengerPercent: 50, shadow: true } });
    try {
      const challenger = await registerDemoChallenger(s.registryDir, 13, 2);
      await s.serving.host.checkNow();
      const res = await request(s.app).post('/predict').send(PREDICTION_EXAMPLE).expect(200);
      expect(res.body.variant).toBe('champion');
      await new Promise((r) => setImmediate(r));
      await s.serving.predictionLog.flush();
      const entries = logEntries(s.dataDir).filter((e) => e.request_id === res.body.request_id);
      expect(entries.map((e) => [e.variant, e.model_version]).sort()).toEqual(
        [
          ['champion', s.champion],
          ['shadow', challenger],
        ].sort(),
      );
    } finally {
      await s.close();
    }
  });
});
