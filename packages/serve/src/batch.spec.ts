import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  dataLayout,
  partitionDir,
  readParquetFile,
  rowsFromTable,
  seededRandom,
  tableFromRows,
  writeParquetFile,
} from '@bolsillo/core';
import { loadModel } from '@bolsillo/model';
import { FeatureRowSchema, PREDICTION_EXAMPLE, arrowSchemaFor, type PredictionRequest } from '@bolsillo/schema';
import { scorePartitions, type BatchPredictionRow } from './batch';
import { registerDemoChampion } from './demo-model';
import { createServing } from './serving';

const GROUPS = ['VESTUARIO', 'SERVIÇO', 'RESTAURANTE', 'SUPERMERCADOS', 'M.O.T.O.'];
const DATES = ['2019-12-01', '2019-12-02', '2019-12-03'];

function requests(n: number, seed: number): PredictionRequest[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    ...PREDICTION_EXAMPLE,
    customer_id: `c${i % 17}`,
    available_limit: Math.floor(rnd() * 4700),
    amount: rnd() < 0.05 ? null : Math.round(rnd() * 200000) / 100,
    merchant_group: GROUPS[Math.floor(rnd() * GROUPS.length)]!,
    merchant_country: rnd() < 0.1 ? null : 'BR',
    date: DATES[i % DATES.length]!,
  }));
}

describe('batch scoring', () => {
  it('agrees exactly with the API scoring path on the same features (parity)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-batch-'));
    const layout = dataLayout(dataDir);
    try {
      const version = await registerDemoChampion(layout.registry, 5);
      const serving = createServing({ dataDir, load: loadModel, secret: 's', pollMs: 0, log: () => undefined });
      await serving.start();
      const reqs = requests(300, 1);
      // Feature-store partitions holding exactly the features the API computes for these requests.
      const featureRows = reqs.map((r, i) => {
        const f = serving.features.featuresFor(r);
        return { txn_id: `t.csv#${i + 2}`, customer_key: f.customerKey!, date: r.date, ...f.features };
      });
      for (const date of DATES) {
        writeParquetFile(
          path.join(partitionDir(layout.featureStore, date), 'part-0.parquet'),
          tableFromRows(
            arrowSchemaFor(FeatureRowSchema),
            featureRows.filter((r) => r.date === date),
          ),
        );
      }
      const rule = {
        threshold: DEFAULT_FEATURE_PARAMS.revengeThreshold,
        essential_groups: DEFAULT_FEATURE_PARAMS.essentialGroups,
      };
      const summary = scorePartitions({
        featureStoreDir: layout.featureStore,
        predictionsDir: layout.predictions,
        model: serving.host.slot('champion')!.model,
        version,
        rule,
        from: '2019-12-02',
      });
      expect(summary.partitions).toBe(2);
      expect(summary.rows).toBe(200);

      const api = serving.service.predict(reqs, true).predictions;
      const batch = new Map<string, BatchPredictionRow>();
      for (const date of DATES.slice(1)) {
        for (const row of rowsFromTable<BatchPredictionRow>(
          readParquetFile(path.join(partitionDir(layout.predictions, date), 'part-0.parquet')),
        ))
          batch.set(row.txn_id, row);
      }
      expect(fs.existsSync(partitionDir(layout.predictions, DATES[0]!))).toBe(false);
      let compared = 0;
      featureRows.forEach((f, i) => {
        const b = batch.get(f.txn_id);
        if (f.date === DATES[0]) return expect(b).toBeUndefined();
        expect(b!.probability).toBe(api[i]!.probability);
        expect(b!.is_revenge_spending).toBe(api[i]!.is_revenge_spending);
        expect(b!.alert).toBe(api[i]!.alert);
        expect(b!.model_version).toBe(api[i]!.model_version);
        expect(b!.customer_key).toBe(f.customer_key);
        compared += 1;
      });
      expect(compared).toBe(200);
      // Both flags and both alerts occur, so the agreement is not trivial.
      expect(new Set([...batch.values()].map((r) => r.is_revenge_spending))).toEqual(new Set([true, false]));
      expect(new Set([...batch.values()].map((r) => r.alert))).toEqual(new Set([true, false]));
      await serving.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs as a command line: serve:batch --from --to writes predictions partitions, exit 1 with a reason when nothing to score', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-batch-cli-'));
    const layout = dataLayout(dataDir);
    const root = path.resolve(__dirname, '../../..');
    const cli = path.join(root, 'packages/serve/src/batch-cli.ts');
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    try {
      await registerDemoChampion(layout.registry, 5);
      const serving = createServing({ dataDir, load: loadModel, secret: 's', pollMs: 0, log: () => undefined });
      const rows = requests(30, 2).map((r, i) => ({
        txn_id: `t.csv#${i + 2}`,
        customer_key: 'k',
        date: r.date,
        ...serving.features.featuresFor(r).features,
      }));
      for (const date of DATES)
        writeParquetFile(
          path.join(partitionDir(layout.featureStore, date), 'part-0.parquet'),
          tableFromRows(
            arrowSchemaFor(FeatureRowSchema),
            rows.filter((r) => r.date === date),
          ),
        );
      const out = execFileSync(tsx, [cli, '--from', '2019-12-01', '--to', '2019-12-02'], {
        cwd: root,
        env: { ...process.env, DATA_DIR: dataDir },
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(out).toMatch(/rows in 20, rows out 20/);
      expect(fs.readdirSync(layout.predictions).sort()).toEqual(['date=2019-12-01', 'date=2019-12-02']);
      let failed: { status: number | null; stderr: string } | null = null;
      try {
        execFileSync(tsx, [cli, '--from', '2030-01-01'], {
          cwd: root,
          env: { ...process.env, DATA_DIR: dataDir },
          encoding: 'utf8',
          stdio: 'pipe',
        });
      } catch (error) {
        failed = error as { status: number | null; stderr: string };
      }
      expect(failed?.status).toBe(1);
      expect(failed?.stderr).toMatch(/no feature-store partitions/);
      await serving.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
