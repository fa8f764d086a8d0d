/**
 * An evaluate shard killed with SIGKILL (a pod evicted, a node lost) while it stages its scores, then
 * rerun, through the CLI as a Job runs it: the merge refuses until the shard has run again, and then
 * writes the metrics, report, verdict and promotion of a clean run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { runStageCli, temporaries } from '@bolsillo/testing';
import { evaluateShardDir } from './evaluate-shards';
import { makeMasterRows, registerBaselines, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';
import { DEFAULT_PARAMS_FILE, runEvaluate } from './run';

/** Several evaluate processes per test, on a shared machine. */
const SLOW = 600_000;

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

const cli = (args: string[], env: Record<string, string>, killWhen?: () => boolean, expected?: number | null) =>
  runStageCli('evaluate', args, env, killWhen, expected);

describe('evaluate shards killed with SIGKILL', () => {
  it(
    'a shard killed while it stages its scores, then rerun: shards + merge equal a clean run',
    async () => {
      // Few resamples keep the file fast; the intervals themselves are tested in metrics.spec.ts.
      const params = JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')) as Record<string, unknown>;
      const paramsFile = path.join(tempDataDir('evaluate-crash-params-'), 'params.json');
      fs.writeFileSync(
        paramsFile,
        JSON.stringify({
          ...params,
          bootstrap: { iterations: 40, confidence: 0.9, max_rows: 100_000 },
          learning_curve: { fractions: [0.25, 1], epochs: 20, l2: 0.001 },
        }),
      );
      // More rows than one batch of the master stream (32,768): the staged scores take a moment to write.
      const template = tempDataDir('evaluate-crash-template-');
      const master = makeMasterRows(70_000, 23);
      writeMaster(template, master);
      await registerBaselines(template, master);
      const version = await registerLogistic(template, -2, -6);
      const clean = tempDataDir('evaluate-crash-clean-');
      fs.cpSync(template, clean, { recursive: true });
      await runEvaluate({ dataDir: clean, paramsFile, log: () => undefined });

      // The kill must land mid-write: on a loaded machine the watcher may see the staging folder only
      // once the shard has finished, so the scenario is tried again (a fresh folder each time) until it does.
      let data = '';
      let env: Record<string, string> = {};
      const args = ['--params', paramsFile];
      for (let attempt = 0; attempt < 5; attempt++) {
        data = tempDataDir('evaluate-crash-');
        fs.cpSync(template, data, { recursive: true });
        env = { DATA_DIR: data };
        expect(await cli(['--shard', '0/2', ...args], env)).toBe(0);
        const shards = dataLayout(data).evaluateShards;
        const staging = () => temporaries(shards).some((t) => t.startsWith('.1-of-2.tmp-'));
        expect(await cli(['--shard', '1/2', ...args], env, staging)).toBeNull();
        if (!fs.existsSync(path.join(evaluateShardDir(dataLayout(data), 1, 2), 'meta.json'))) break;
      }
      // Killed before its scores were in place: the merge refuses, naming the shard, and evaluates nothing.
      expect(fs.existsSync(path.join(evaluateShardDir(dataLayout(data), 1, 2), 'meta.json'))).toBe(false);
      expect(await cli(['--merge', ...args], { ...env, BOLSILLO_SHARDS: '2' }, undefined, 1)).toBe(1);
      expect(fs.existsSync(dataLayout(data).reportDir(version))).toBe(false);
      expect(await cli(['--shard', '1/2', ...args], env)).toBe(0);
      expect(await cli(['--merge', ...args], { ...env, BOLSILLO_SHARDS: '2' })).toBe(0);
      expect(outputs(data, version)).toEqual(outputs(clean, version));
      expect(fs.existsSync(dataLayout(data).evaluateShards)).toBe(false);
      expect(temporaries(path.join(data, 'reports'))).toEqual([]);
    },
    SLOW,
  );
});
