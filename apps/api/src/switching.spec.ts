import fs from 'node:fs';
import path from 'node:path';
import { modelDir, promote } from '@bolsillo/model';
import { PREDICTION_EXAMPLE, type PredictionResponse } from '@bolsillo/schema';
import { registerDemoModel } from '@bolsillo/serve';
import { listen, pool, type Client } from './http-client.test-util';
import { testServer, type TestServer } from './test-server.test-util';

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('safe model switching', () => {
  let s: TestServer;
  let client: Client;
  beforeEach(async () => {
    s = await testServer({ pollMs: 10 });
    client = await listen(s.app);
  });
  afterEach(async () => {
    await client.close();
    await s.close();
  });

  it('switches the champion under load with no failed request; each request is answered by one version; the new one answers after', async () => {
    const old = s.champion!;
    const next = await registerDemoModel(s.registryDir, 21, 1.5);
    const batch = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ ...PREDICTION_EXAMPLE, amount: 10 + i })));
    const single = JSON.stringify(PREDICTION_EXAMPLE);
    const failures: string[] = [];
    const seen: string[] = [];
    let answeredByNew = 0;
    let promoted = false;
    // Run until the new version has answered plenty (condition-based, no clock): the alias watcher
    // picks up the promotion while requests are in flight.
    await pool(50_000, 8, async (i) => {
      if (answeredByNew >= 300) return;
      if (i === 300 && !promoted) {
        promoted = true;
        promote(s.registryDir, next, 'switch under load');
      }
      const isBatch = i % 5 === 0;
      const res = await client.send('POST', '/predict', isBatch ? batch : single, JSON_HEADERS);
      if (res.status !== 200) {
        failures.push(`${res.status} ${res.body.slice(0, 200)}`);
        return;
      }
      const body = JSON.parse(res.body) as PredictionResponse | { predictions: PredictionResponse[] };
      const versions =
        'predictions' in body ? [...new Set(body.predictions.map((p) => p.model_version))] : [body.model_version];
      if (versions.length !== 1 || res.headers['x-model-version'] !== versions[0])
        failures.push(
          `mixed versions in one request: ${versions.join(',')} header ${String(res.headers['x-model-version'])}`,
        );
      seen.push(versions[0]!);
      if (versions[0] === next) answeredByNew += 1;
    });
    expect(failures).toEqual([]);
    expect(promoted).toBe(true);
    expect(new Set(seen)).toEqual(new Set([old, next]));
    // Once the new version answered, the old never answered again.
    const firstNew = seen.indexOf(next);
    expect(seen.slice(firstNew + 8 /* requests already in flight at the swap */).every((v) => v === next)).toBe(true);
    const after = await client.send('POST', '/predict', single, JSON_HEADERS);
    expect(after.headers['x-model-version']).toBe(next);
    expect(s.serving.metrics.modelLoads.get({ alias: 'champion', version: next, result: 'loaded' })).toBe(1);
  });

  it('refuses a corrupt model and one failing the smoke test; the old one keeps serving and the refusals are counted', async () => {
    const old = s.champion!;
    const corrupt = await registerDemoModel(s.registryDir, 31);
    const weights = path.join(modelDir(s.registryDir, corrupt), 'weights.bin');
    fs.writeFileSync(weights, fs.readFileSync(weights).subarray(0, 7)); // truncated mid-tensor
    promote(s.registryDir, corrupt, 'corrupt on purpose');
    await s.serving.host.checkNow();
    expect(s.serving.host.slot('champion')!.version).toBe(old);
    let res = await client.send('POST', '/predict', JSON.stringify(PREDICTION_EXAMPLE), JSON_HEADERS);
    expect(res.status).toBe(200);
    expect(res.headers['x-model-version']).toBe(old);

    const nan = await registerDemoModel(s.registryDir, 32, Number.NaN);
    promote(s.registryDir, nan, 'scores NaN on purpose');
    await s.serving.host.checkNow();
    res = await client.send('POST', '/predict', JSON.stringify(PREDICTION_EXAMPLE), JSON_HEADERS);
    expect(res.status).toBe(200);
    expect(res.headers['x-model-version']).toBe(old);
    expect((await client.send('GET', '/ready')).status).toBe(200);

    const metrics = (await client.send('GET', '/metrics')).body;
    expect(metrics).toContain(
      `bolsillo_model_load_events_total{alias="champion",result="load_failed",version="${corrupt}"} 1`,
    );
    expect(metrics).toContain(
      `bolsillo_model_load_events_total{alias="champion",result="smoke_failed",version="${nan}"} 1`,
    );
    const models = JSON.parse((await client.send('GET', '/models')).body) as { refused: Record<string, string> };
    expect(models.refused[corrupt]).toMatch(/^load_failed: .*weights\.bin/);
    expect(models.refused[nan]).toMatch(/^smoke_failed: /);
    expect(s.logs.some((l) => l.includes(`${corrupt} refused`) && l.includes(`keeping ${old}`))).toBe(true);

    // A broken aliases file is ignored too.
    fs.writeFileSync(path.join(s.registryDir, 'aliases.json'), '{"champion": ');
    await s.serving.host.checkNow();
    res = await client.send('POST', '/predict', JSON.stringify(PREDICTION_EXAMPLE), JSON_HEADERS);
    expect(res.headers['x-model-version']).toBe(old);
  });
});
