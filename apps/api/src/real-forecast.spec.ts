/**
 * The served answers on the real file, end to end: the pipeline's own champion (whatever won: a
 * model or the strongest baseline), no demonstration model.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  dataLayout,
  emptyCustomerState,
  listPartitions,
  readJson,
  readParquetFile,
  rowsFromTable,
  updateCustomerState,
  type CustomerState,
  type FeatureParams,
} from '@bolsillo/core';
import { loadModel, readAliases } from '@bolsillo/model';
import {
  createServing,
  featuresForRequest,
  scorePartitions,
  PredictionService,
  type BatchPredictionRow,
  type Serving,
} from '@bolsillo/serve';
import type { PredictionRequest, PredictionResponse, Transaction } from '@bolsillo/schema';
import { describeRealData, realDataPath } from '@bolsillo/testing';
import { evaluateRegistryOps } from './admin-ops';
import { createApp } from './app';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** Run the pipeline's stage CLIs on the real file into `dataDir` (as `npm run pipeline` does, without Nx). */
function runPipeline(dataDir: string): void {
  const env = { ...process.env, RAW_DIR: path.dirname(realDataPath()), DATA_DIR: dataDir, FORCE_COLOR: '0' };
  for (const stage of ['ingest', 'features', 'build', 'train', 'evaluate']) {
    execFileSync(TSX, [path.join(ROOT, 'packages', stage, 'src', 'cli.ts')], {
      env,
      cwd: ROOT,
      stdio: 'pipe',
      timeout: 900_000,
    });
  }
}

/** Lake transactions in the features stage's order: date, source file, source line. */
function lakeTransactions(dataDir: string): Transaction[] {
  const rows: Transaction[] = [];
  for (const p of listPartitions(dataLayout(dataDir).lake))
    for (const f of p.files) rows.push(...rowsFromTable<Transaction>(readParquetFile(f)));
  return rows.sort((a, b) =>
    a.date < b.date
      ? -1
      : a.date > b.date
        ? 1
        : a.source_file < b.source_file
          ? -1
          : a.source_file > b.source_file
            ? 1
            : a.source_line - b.source_line,
  );
}

function requestOf(t: Transaction): PredictionRequest {
  const { txn_id: _id, source_file: _f, source_line: _l, customer_key: _k, ...fields } = t;
  return fields;
}

describeRealData('the served forecast on the real file (pipeline champion)', () => {
  let dataDir: string;
  let serving: Serving;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-real-'));
    runPipeline(dataDir);
    serving = createServing({ dataDir, load: loadModel, secret: 'unused', pollMs: 0, log: () => undefined });
    await serving.start();
    app = createApp({ serving, registry: evaluateRegistryOps(), adminKey: null, log: () => undefined });
  }, 1_800_000);
  afterAll(async () => {
    await serving?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('forecasts more risk for the same request at 5% of the limit left than at 90%', async () => {
    const champion = readAliases(dataLayout(dataDir).registry).champion;
    expect(champion).toBeTruthy();
    const base = {
      account_cohort: '201405',
      city: 'SAO PAULO',
      state: 'SP',
      age: 37,
      sex: 'F',
      credit_limit: 4000,
      date: '2020-05-08',
      amount: 120,
      merchant_group: 'RESTAURANTE',
      merchant_city: 'SAO PAULO',
      merchant_country: 'BR',
    };
    const low = await request(app)
      .post('/predict')
      .send({ ...base, available_limit: 200 })
      .expect(200);
    const high = await request(app)
      .post('/predict')
      .send({ ...base, available_limit: 3600 })
      .expect(200);
    const [l, h] = [low.body as PredictionResponse, high.body as PredictionResponse];
    expect(l.model_version).toBe(champion);
    expect(l.probability).toBeGreaterThan(h.probability);
    // The flag is exact arithmetic on the request: 5% at a restaurant fires, 90% does not.
    expect([l.is_revenge_spending, h.is_revenge_spending]).toEqual([true, false]);
    expect([l.history_found, h.history_found]).toEqual([false, false]);
  });

  it('scores every snapshot identically through the API path (state before + the request) and the batch path', () => {
    const layout = dataLayout(dataDir);
    const champion = readAliases(layout.registry).champion!;
    const params = readJson<{ params: FeatureParams }>(layout.featureManifest).params;
    const model = serving.host.slot('champion')!.model;
    scorePartitions({
      featureStoreDir: layout.featureStore,
      predictionsDir: layout.predictions,
      model,
      version: champion,
      rule: { threshold: params.revengeThreshold, essential_groups: params.essentialGroups },
    });
    const batch = new Map<string, BatchPredictionRow>();
    for (const p of listPartitions(layout.predictions))
      for (const f of p.files)
        for (const r of rowsFromTable<BatchPredictionRow>(readParquetFile(f)))
          if (r.is_snapshot) batch.set(r.txn_id, r);

    // The API path: the customer's online state just before the snapshot's transaction, then the request.
    const states = new Map<string, CustomerState>();
    let current: { key: string; state: CustomerState | undefined; request: PredictionRequest } | null = null;
    const service = new PredictionService({
      host: serving.host,
      features: { featuresFor: (req) => featuresForRequest(req, current!.key, current!.state, params) },
      routing: { challengerPercent: 0, shadow: false },
      metrics: serving.metrics,
      logPrediction: () => undefined,
      target: () => ({
        rule: { threshold: params.revengeThreshold, essential_groups: params.essentialGroups },
        horizonDays: 7,
      }),
    });
    let compared = 0;
    let flagged = 0;
    for (const t of lakeTransactions(dataDir)) {
      const before = states.get(t.customer_key);
      const b = batch.get(t.txn_id);
      if (b) {
        current = { key: t.customer_key, state: before, request: requestOf(t) };
        const api = service.predict([current.request]).predictions[0]!;
        expect([t.txn_id, api.probability]).toEqual([t.txn_id, b.probability]);
        expect(api.is_revenge_spending).toBe(b.is_revenge_spending);
        if (api.is_revenge_spending) flagged++;
        compared++;
      }
      states.set(t.customer_key, updateCustomerState(before ?? emptyCustomerState(), t));
    }
    expect(compared).toBe(batch.size);
    expect(compared).toBeGreaterThan(2_000);
    expect(flagged).toBeGreaterThan(0);
  });
});
