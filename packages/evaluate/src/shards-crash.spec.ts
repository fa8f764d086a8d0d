/**
 * An evaluate shard killed with SIGKILL (a pod evicted, a node lost) while it stages its scores, then
 * rerun, through the CLI as a Job runs it: the merge refuses until the shard has run again, and then
 * writes the metrics, report, verdict and promotion of a clean run. A merge (or a whole run) killed after
 * it moved the champion alias and before its report, then rerun: the clean run's verdict, report and one
 * promotion.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { promote, readAliases, readAudit } from '@bolsillo/model';
import { auditTrail, killAtAppend, runStageCli, temporaries } from '@bolsillo/testing';
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

/** A copy of a data folder. */
function copyOf(dir: string, prefix: string): string {
  const copy = tempDataDir(prefix);
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

/** The registry's audit trail without its timestamps. */
const audit = (dir: string) => readAudit(dataLayout(dir).registry).map((e) => [e.action, e.version, e.after]);

/**
 * A champion and a candidate that beats it, and a clean run's data folder: the clean run compares the
 * two and promotes the candidate.
 */
async function promotionScenario(paramsFile: string) {
  const template = tempDataDir('evaluate-promotion-template-');
  const master = makeMasterRows(20_000, 29);
  writeMaster(template, master);
  await registerBaselines(template, master);
  const champion = await registerLogistic(template, -1, -1);
  promote(dataLayout(template).registry, champion, 'test: the champion before the candidate');
  const version = await registerLogistic(template, -3, -12);
  const clean = copyOf(template, 'evaluate-promotion-clean-');
  const cleanRun = await runEvaluate({ dataDir: clean, paramsFile, log: () => undefined });
  expect([cleanRun.verdict.promoted, cleanRun.verdict.champion_before]).toEqual([true, champion]);
  return { template, clean, version };
}

describe('evaluate shards killed with SIGKILL', () => {
  // Few resamples keep the file fast; the intervals themselves are tested in metrics.spec.ts.
  const paramsFile = path.join(tempDataDir('evaluate-crash-params-'), 'params.json');
  beforeAll(() => {
    const params = JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      paramsFile,
      JSON.stringify({
        ...params,
        bootstrap: { iterations: 40, confidence: 0.9, max_rows: 100_000 },
        learning_curve: { fractions: [0.25, 1], epochs: 20, l2: 0.001 },
      }),
    );
  });

  it(
    'a shard killed while it stages its scores, then rerun: shards + merge equal a clean run',
    async () => {
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

  it.each([
    ['a merge', ['--merge'], ['0/2', '1/2']],
    ['a whole run', [], []],
  ])(
    '%s killed after it moved the champion alias, before its report, then rerun: the clean verdict, one promotion',
    async (_what, step, shards) => {
      const { template, clean, version } = await promotionScenario(paramsFile);

      // The kill lands once the promotion is recorded (alias moved, audited), and must land before the report
      // folder is in place: on a loaded machine it may come too late, so the scenario is tried again (the
      // shards in each fresh folder: they record the master table's path).
      const args = ['--params', paramsFile];
      let data = '';
      const promoted = () =>
        readAudit(dataLayout(data).registry).some((e) => e.action === 'promote' && e.version === version);
      const env = () => ({ DATA_DIR: data, BOLSILLO_SHARDS: '2' });
      for (let attempt = 0; attempt < 5; attempt++) {
        data = copyOf(template, 'evaluate-promotion-');
        for (const shard of shards) expect(await cli(['--shard', shard, ...args], env())).toBe(0);
        expect(await cli([...step, ...args], env(), promoted)).toBeNull();
        if (!fs.existsSync(dataLayout(data).reportDir(version))) break;
      }
      expect(readAliases(dataLayout(data).registry).champion).toBe(version);
      expect(fs.existsSync(dataLayout(data).reportDir(version))).toBe(false);

      // The rerun compares the candidate with the champion the killed run saw, and does not promote again.
      expect(await cli([...step, ...args], env())).toBe(0);
      expect(outputs(data, version)).toEqual(outputs(clean, version));
      expect(audit(data)).toEqual(audit(clean));
      expect(fs.readdirSync(dataLayout(data).reports).filter((f) => f.startsWith('.'))).toEqual([]);
    },
    SLOW,
  );

  it(
    'a whole run killed between moving the champion alias and auditing it, then rerun: the trail explains the aliases',
    async () => {
      const { template, clean, version } = await promotionScenario(paramsFile);
      const data = copyOf(template, 'evaluate-unaudited-');
      const registry = dataLayout(data).registry;
      const env = { DATA_DIR: data, ...killAtAppend('audit.jsonl', '"action":"promote"') };
      expect(await cli(['--params', paramsFile], env, undefined, null)).toBeNull();
      // Killed with aliases.json written and the trail one entry short: the promotion's.
      expect(readAliases(registry).champion).toBe(version);
      const cleanTrail = auditTrail(dataLayout(clean).registry);
      expect(auditTrail(registry)).toEqual(cleanTrail.slice(0, -1));
      // Readers of the registry see the move whole already; the rerun writes its entry to the trail, once.
      expect(audit(data)).toEqual(audit(clean));
      expect(await cli(['--params', paramsFile], { DATA_DIR: data })).toBe(0);
      expect(outputs(data, version)).toEqual(outputs(clean, version));
      expect(auditTrail(registry)).toEqual(cleanTrail);
      expect(fs.existsSync(dataLayout(data).registryAliasMove)).toBe(false);
    },
    SLOW,
  );
});
