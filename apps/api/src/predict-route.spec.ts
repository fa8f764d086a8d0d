import zlib from 'node:zlib';
import request from 'supertest';
import { PREDICTION_EXAMPLE, PredictionResponseSchema, validatorFor, type PredictionResponse } from '@bolsillo/schema';
import { listen, type Client, type RawResponse } from './http-client.test-util';
import { limitBytes } from './predict-route';
import { testServer, type TestServer } from './test-server.test-util';

const validResponse = validatorFor(PredictionResponseSchema);
const json = JSON.stringify(PREDICTION_EXAMPLE);

describe('POST /predict: the fast path and the express route answer alike', () => {
  let s: TestServer;
  let client: Client;
  beforeAll(async () => {
    s = await testServer({ bodyLimit: '4kb' });
    client = await listen(s.app);
  });
  afterAll(async () => {
    await client.close();
    await s.close();
  });
  /** POST /predict with the body as it is, or gzip-compressed (which the fast path leaves to express). */
  const post = async (body: string, encoding: 'identity' | 'gzip' = 'identity') => {
    const res = await client.send('POST', '/predict', encoding === 'gzip' ? zlib.gzipSync(body) : body, {
      'content-type': 'application/json',
      'content-encoding': encoding,
    });
    return { ...res, json: JSON.parse(res.body) as Record<string, unknown> };
  };

  it('scores the same transaction identically through both (a gzip body takes the express route)', async () => {
    const fast = await post(json);
    const full = await post(json, 'gzip');
    for (const res of [fast, full]) {
      expect(res.status).toBe(200);
      expect(validResponse(res.json)).toBe(true);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-request-id']).toBe(res.json.request_id);
      expect(res.headers['x-model-version']).toBe(s.champion);
    }
    const { request_id: a, ...fastRest } = fast.json as unknown as PredictionResponse;
    const { request_id: b, ...fullRest } = full.json as unknown as PredictionResponse;
    expect(a).not.toBe(b);
    expect(fastRest).toEqual(fullRest);
    const metrics = await request(s.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/bolsillo_http_requests_total\{method="POST",route="\/predict",status="200"\} 2\n/);
    expect(metrics.text).toMatch(/bolsillo_http_request_duration_seconds_count\{route="\/predict"\} 2\n/);
  });

  it('rejects alike: a non-object body is malformed JSON, an invalid field is a 400 naming it', async () => {
    for (const encoding of ['identity', 'gzip'] as const) {
      const expectProblem = (res: RawResponse & { json: Record<string, unknown> }, title: string) => {
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
        expect(res.json.title).toBe(title);
      };
      expectProblem(await post('42', encoding), 'Malformed JSON');
      expectProblem(await post('{"age": 3', encoding), 'Malformed JSON');
      const bad = await post(JSON.stringify({ ...PREDICTION_EXAMPLE, age: 'old' }), encoding);
      expectProblem(bad, 'Invalid prediction request');
      expect(bad.json.errors).toEqual(['/age must be an integer (got "old")']);
      expect(bad.json.detail).toBe('1 invalid field');
    }
  });

  it('leaves large bodies to express and its limit: 413 over the limit, 415 for another charset', async () => {
    const big = JSON.stringify({ ...PREDICTION_EXAMPLE, city: 'x'.repeat(5000) });
    const res = await request(s.app).post('/predict').set('content-type', 'application/json').send(big).expect(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    await request(s.app)
      .post('/predict')
      .set('content-type', 'application/json; charset=latin1')
      .send(json)
      .expect(415);
    await request(s.app).post('/predict').set('content-type', 'application/json; charset=UTF-8').send(json).expect(200);
  });
});

describe('limitBytes', () => {
  it('reads bytes-style limits and refuses what it cannot read', () => {
    expect(limitBytes('1mb')).toBe(1024 * 1024);
    expect(limitBytes('256kb')).toBe(256 * 1024);
    expect(limitBytes('100')).toBe(100);
    expect(limitBytes('1.5KB')).toBe(1536);
    expect(limitBytes('lots')).toBeNull();
  });
});
