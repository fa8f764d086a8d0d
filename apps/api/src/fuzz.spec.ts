import { seededRandom } from '@bolsillo/core';
import { PREDICTION_EXAMPLE } from '@bolsillo/schema';
import { listen, pool, type Client } from './http-client.test-util';
import { testServer, type TestServer } from './test-server.test-util';

/** Random JSON values, biased toward the shapes a broken client sends. */
function randomValue(rnd: () => number, depth = 0): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.15) return null;
  if (r < 0.3) return Math.floor((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12));
  if (r < 0.4) return [Number.MAX_VALUE, -0, 1e-300, 0.5, -1][Math.floor(rnd() * 5)];
  if (r < 0.55)
    return ['', 'SP', '2019-12-04', '2019-13-45', 'VESTUARIO', '💥', 'x'.repeat(200), '\u0000', '__proto__', '201405'][
      Math.floor(rnd() * 10)
    ];
  if (r < 0.65) return rnd() < 0.5;
  if (r < 0.8) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--)
    o[['age', 'amount', 'foo', '__proto__', 'constructor', 'date', 'customer_id'][Math.floor(rnd() * 7)]!] =
      randomValue(rnd, depth + 1);
  return o;
}

/** A mutation of the valid example: one field replaced, dropped or added. */
function mutatedExample(rnd: () => number): unknown {
  const o: Record<string, unknown> = { ...PREDICTION_EXAMPLE };
  const keys = Object.keys(o);
  const k = keys[Math.floor(rnd() * keys.length)]!;
  const r = rnd();
  if (r < 0.4) o[k] = randomValue(rnd);
  else if (r < 0.6) delete o[k];
  else if (r < 0.8) o[`x${Math.floor(rnd() * 100)}`] = randomValue(rnd);
  // else: unchanged (valid) — the fuzz must also keep answering 200 for good input.
  return rnd() < 0.1 ? Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => o) : o;
}

/** Raw bytes that are not (valid) JSON, or JSON with a wrong type / encoding header. */
function rawBody(rnd: () => number): { body: string | Buffer; type: string } {
  const pick = Math.floor(rnd() * 10);
  const json = JSON.stringify(mutatedExample(rnd));
  switch (pick) {
    case 0:
      return { body: json.slice(0, Math.floor(rnd() * json.length)), type: 'application/json' };
    case 1:
      return {
        body: Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))),
        type: 'application/json',
      };
    case 2:
      return {
        body: json,
        type: ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'][
          Math.floor(rnd() * 4)
        ]!,
      };
    case 3:
      return { body: json, type: 'application/json; charset=latin-9' };
    case 4:
      return { body: '['.repeat(5000) + ']'.repeat(5000), type: 'application/json' };
    case 5:
      return { body: '{"a":'.repeat(2000), type: 'application/json' };
    case 6:
      return { body: 'null', type: 'application/json' };
    case 7:
      return {
        body: JSON.stringify(Array.from({ length: 1001 + Math.floor(rnd() * 5) }, () => PREDICTION_EXAMPLE)),
        type: 'application/json',
      };
    default:
      return { body: JSON.stringify(randomValue(rnd)), type: 'application/json' };
  }
}

describe('fuzz: 10,000 random or malformed bodies', () => {
  let s: TestServer;
  let client: Client;
  beforeAll(async () => {
    s = await testServer({ bodyLimit: '256kb' });
    client = await listen(s.app);
  });
  afterAll(async () => {
    await client.close();
    await s.close();
  });

  it('never answers 5xx, answers problem+json for every rejection, and stays alive', async () => {
    const rnd = seededRandom(20240501);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const paths = ['/predict', '/predict', '/predict', '/feedback', '/admin/promote', '/admin/rollback'];
    await pool(10_000, 16, async () => {
      const path = paths[Math.floor(rnd() * paths.length)]!;
      const { body, type } =
        rnd() < 0.6 ? { body: JSON.stringify(mutatedExample(rnd)), type: 'application/json' } : rawBody(rnd);
      const headers: Record<string, string> = { 'content-type': type };
      if (path.startsWith('/admin') && rnd() < 0.5) headers['x-api-key'] = rnd() < 0.5 ? 'test-admin-key' : 'guess';
      const res = await client.send('POST', path, body, headers);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500)
        failures.push(`${res.status} ${path} ${String(body).slice(0, 120)} -> ${res.body.slice(0, 200)}`);
      else if (res.status >= 400 && !String(res.headers['content-type']).startsWith('application/problem+json'))
        failures.push(`${res.status} without problem+json: ${path}`);
    });
    expect({ failures: failures.slice(0, 5), log: failures.length ? s.logs.slice(-3) : [] }).toEqual({
      failures: [],
      log: [],
    });
    // The mix reached both sides: valid predictions and each rejection class.
    for (const status of [200, 400, 401, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    const health = await client.send('GET', '/health');
    expect(health.status).toBe(200);
    const ok = await client.send('POST', '/predict', JSON.stringify(PREDICTION_EXAMPLE), {
      'content-type': 'application/json',
    });
    expect(ok.status).toBe(200);
  });
});
