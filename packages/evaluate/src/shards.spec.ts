import fs from 'node:fs';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { evaluateShardDir, mergeEvaluate, runEvaluateShard } from './evaluate-shards';
import { makeMasterRows, registerBaselines, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';
import { DEFAULT_EVALUATE_PARAMS, type EvaluateParams } from './params';
import { runEvaluate } from './run';

/** Several evaluations per test, on a shared machine. */
const SLOW = 400_000;
// Few resamples keep the file fast; the intervals themselves are tested in metrics.spec.ts.
const params: EvaluateParams = {
  ...DEFAULT_EVALUATE_PARAMS,
  bootstrap: { iterations: 40, confidence: 0.9 },
  learning_curve: { fractions: [0.25, 1], epochs: 20, l2: 0.001 },
};
const quiet = () => undefined;

/** A registry with the baselines and a candidate over a master table of `rows` rows (40 customers). */
async function setup(rows: number): Promise<{ dir: string; version: string }> {
  const dir = tempDataDir('evaluate-shards-');
  const master = makeMasterRows(rows, 21);
  writeMaster(dir, master);
  await registerBaselines(dir, master);
  return { dir, version: await registerLogistic(dir, -2, -6) };
}

/** A copy of a data folder: the same registry, versions and master table. */
function copy(dir: string): string {
  const to = tempDataDir('evaluate-shards-copy-');
  fs.cpSync(dir, to, { recursive: true });
  return to;
}

/** The report folder's files and the model's decision, the run's timestamps left out. */
function outputs(dir: string, version: string): Record<string, string> {
  const layout = dataLayout(dir);
  const files = [
    ...fs.readdirSync(layout.reportDir(version)).map((f) => path.join(layout.reportDir(version), f)),
    layout.modelDecision(version),
    layout.registryAliases,
  ];
  const stamp = /"(generated_at|decided_at|updated_at)":\s*"[^"]*"|evaluated \d{4}-[\d-]+T[\d:.]+Z/g;
  return Object.fromEntries(files.map((f) => [path.basename(f), fs.readFileSync(f, 'utf8').replace(stamp, '')]));
}

describe('evaluate in shards', () => {
  it(
    '3 shards + merge give the metrics, intervals, threshold, verdict, plots and promotion of one process',
    async () => {
      // More rows than one batch of the master stream (32,768): positions and customers span batches.
      const { dir, version } = await setup(70_000);
      const sharded = copy(dir);
      const whole = await runEvaluate({ dataDir: dir, params, log: quiet });
      for (let i = 0; i < 3; i++) await runEvaluateShard({ dataDir: sharded, params, log: quiet, index: i, count: 3 });
      // The merge bootstraps on a worker thread, the single process on its own: the same results.
      const merged = await mergeEvaluate({ dataDir: sharded, params, log: quiet, shards: 3, bootstrapThread: true });
      expect(whole.rowsIn).toBeLessThan(100_000);
      expect(merged.version).toBe(version);
      expect([merged.rowsIn, merged.rowsOut, merged.verdict.decision]).toEqual([
        whole.rowsIn,
        whole.rowsOut,
        whole.verdict.decision,
      ]);
      expect({ ...merged.aliases, updated_at: '' }).toEqual({ ...whole.aliases, updated_at: '' });
      expect(outputs(sharded, version)).toEqual(outputs(dir, version));
      expect(fs.existsSync(dataLayout(sharded).evaluateShards)).toBe(false);
    },
    SLOW,
  );

  it(
    'the merge refuses while a shard has not run, or when a shard scored another candidate',
    async () => {
      const { dir } = await setup(3000);
      await runEvaluateShard({ dataDir: dir, params, log: quiet, index: 0, count: 2 });
      await expect(mergeEvaluate({ dataDir: dir, params, shards: 2 })).rejects.toThrow(
        'shard 1 of 2 has not run (no reports/.shards/1-of-2/meta.json): run evaluate --shard 1/2',
      );
      await runEvaluateShard({ dataDir: dir, params, log: quiet, index: 1, count: 2 });
      await registerLogistic(dir, -1, -3);
      await expect(mergeEvaluate({ dataDir: dir, params, shards: 2 })).rejects.toThrow(
        /shard 0 of 2 scored another candidate, master table, contenders or params than the merge sees/,
      );
      expect(fs.existsSync(evaluateShardDir(dataLayout(dir), 0, 2))).toBe(true);
      // Nothing was evaluated: no report, no index.
      expect(fs.existsSync(dataLayout(dir).reportsIndex)).toBe(false);
    },
    SLOW,
  );

  it(
    "the merge refuses a shard's scores staged over another's, and scores staged in the older format",
    async () => {
      const { dir } = await setup(3000);
      for (let i = 0; i < 2; i++) await runEvaluateShard({ dataDir: dir, params, log: quiet, index: i, count: 2 });
      const layout = dataLayout(dir);
      const staged = (i: number, file: string) => path.join(evaluateShardDir(layout, i, 2), file);
      const own = fs.readFileSync(staged(1, 'scores.parquet'));
      // Shard 0's rows twice and none of shard 1's: every slot of shard 0 is filled twice.
      fs.copyFileSync(staged(0, 'scores.parquet'), staged(1, 'scores.parquet'));
      await expect(mergeEvaluate({ dataDir: dir, params, shards: 2 })).rejects.toThrow(
        /the shards' (calibration|test|holdout) rows are not the master table's: run every evaluate shard again/,
      );
      fs.writeFileSync(staged(1, 'scores.parquet'), own);
      const meta = JSON.parse(fs.readFileSync(staged(1, 'meta.json'), 'utf8')) as { version: number };
      fs.writeFileSync(staged(1, 'meta.json'), JSON.stringify({ ...meta, version: 1 }));
      await expect(mergeEvaluate({ dataDir: dir, params, shards: 2 })).rejects.toThrow(
        /shard 1 of 2 .* or staged them in another format: run evaluate --shard 1\/2/,
      );
      fs.writeFileSync(staged(1, 'meta.json'), JSON.stringify(meta));
      const merged = await mergeEvaluate({ dataDir: dir, params, log: quiet, shards: 2 });
      expect(merged.rowsIn).toBe(3000);
    },
    SLOW,
  );
});
