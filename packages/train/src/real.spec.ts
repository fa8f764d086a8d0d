import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listVersions, loadModel, readAliases } from '@bolsillo/model';
import { runTrain } from './run';
import { itRealData, realDataPath } from '@bolsillo/testing';

const ROOT = path.resolve(__dirname, '../../..');
// Upstream stages may not be imported by a stage (module boundaries), so their CLIs run as child processes.
const UPSTREAM = ['ingest', 'features', 'build'].map((stage) => path.join(ROOT, 'packages', stage, 'src', 'cli.ts'));

describe('train on the real file with the default params', () => {
  itRealData(
    'the chosen model beats the prior on grouped-CV PR-AUC (leave one customer out: the file has few customers), every baseline is registered, and the card warns about the few customers',
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-real-'));
      const env = { ...process.env, RAW_DIR: path.dirname(realDataPath()), DATA_DIR: dataDir };
      for (const cli of UPSTREAM)
        execFileSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), cli], {
          cwd: ROOT,
          env,
          stdio: 'pipe',
        });

      const summary = await runTrain({ dataDir, log: () => undefined });

      expect(summary.cv.metric).toBe('pr_auc');
      // The selection aggregate (pooled out-of-fold PR-AUC by default) of every contender, on the same grouped folds.
      expect(summary.result.cv_plan.scheme).toBe('loco');
      expect(summary.baseline_cv.best_feature).toBeGreaterThan(summary.baseline_cv.prior!);
      expect(summary.cv.mean).toBeGreaterThan(summary.baseline_cv.prior!);
      expect(summary.limitations.train_customers).toBeLessThan(30);
      expect(summary.limitations.warnings.join(' ')).toMatch(/customers/);
      expect(['logistic', 'mlp', 'gbdt']).toContain(summary.family);
      // Every family of the default search took part in algorithm selection.
      expect(new Set(summary.result.sample_trials.map((t) => t.family))).toEqual(new Set(['logistic', 'mlp', 'gbdt']));

      const registry = path.join(dataDir, 'registry');
      expect(readAliases(registry).challenger).toBe(summary.version);
      expect(listVersions(registry).map((c) => c.version)).toEqual(
        expect.arrayContaining([summary.version, ...Object.values(summary.baselines)]),
      );
      const model = await loadModel(registry, summary.version);
      expect(model.card.master_hash).toBe(summary.master_hash);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    600_000,
  );
});
