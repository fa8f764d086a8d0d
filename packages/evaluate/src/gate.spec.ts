import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, readAliases, readAudit, readJson } from '@bolsillo/core';
import { decideGate, type Verdict } from './gate';
import { DEFAULT_EVALUATE_PARAMS, type EvaluateParams } from './params';
import { runEvaluate, runForcePromote, runRollback } from './run';
import { makeMasterRows, registerBaselines, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';

// Few resamples keep the file fast; the intervals themselves are tested in metrics.spec.ts.
const params: EvaluateParams = {
  ...DEFAULT_EVALUATE_PARAMS,
  bootstrap: { iterations: 40, confidence: 0.9 },
  learning_curve: { fractions: [0.25, 1], epochs: 20, l2: 0.001 },
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<string> {
  const dir = tempDataDir();
  dirs.push(dir);
  const rows = makeMasterRows(1500, 11);
  writeMaster(dir, rows);
  const train = rows.filter((r) => r.split === 'train');
  await registerBaselines(dir, train.filter((r) => r.is_revenge_spending).length / train.length);
  return dir;
}

describe('promotion gate (registry on disk)', () => {
  it('promotes a first model with an explicit verdict, even with no thresholds', async () => {
    const dir = await setup();
    const v1 = await registerLogistic(dir, -2, -1);
    const r = await runEvaluate({ dataDir: dir, params: { ...params, gate: { split: 'test', floors: [], vs_champion: [] } } });
    expect(r.version).toBe(v1);
    const verdict = readJson<Verdict>(path.join(dataLayout(dir).reports, v1, 'verdict.json'));
    expect(verdict).toMatchObject({ decision: 'promote', promote: true, promoted: true, first_model: true, champion_before: null });
    expect(verdict.reasons.join(' ')).toMatch(/first model/);
    expect(verdict.reasons.join(' ')).toMatch(/no gate thresholds/);
    expect(readAliases(dataLayout(dir).registry).champion).toBe(v1);
    // decision.json sits beside the model, where loadModel reads it.
    const decision = readJson<{ threshold: number; objective: string }>(path.join(dataLayout(dir).registry, 'models', v1, 'decision.json'));
    expect(decision.objective).toBe('f1');
    expect(decision.threshold).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dataLayout(dir).reports, 'index.html'))).toBe(true);
  });

  it('does not promote a worse candidate, promotes a better one, and rollback restores the previous champion', async () => {
    const dir = await setup();
    const registry = dataLayout(dir).registry;
    const mid = await registerLogistic(dir, -2, -1);
    expect((await runEvaluate({ dataDir: dir, params })).verdict.promoted).toBe(true);

    const worse = await registerLogistic(dir, 2, 1); // inverted weights: ranks backwards
    const rw = await runEvaluate({ dataDir: dir, params });
    expect(rw.version).toBe(worse);
    expect(rw.verdict.promote).toBe(false);
    expect(rw.verdict.champion_before).toBe(mid);
    expect(rw.verdict.checks.filter((c) => !c.passed).map((c) => c.kind)).toEqual(expect.arrayContaining(['floor', 'vs_champion']));
    expect(readAliases(registry).champion).toBe(mid);
    expect(readJson<Verdict>(path.join(dataLayout(dir).reports, worse, 'verdict.json')).decision).toBe('reject');

    const better = await registerLogistic(dir, -8, -5);
    const rb = await runEvaluate({ dataDir: dir, params });
    expect(rb.verdict.promoted).toBe(true);
    expect(readAliases(registry)).toMatchObject({ champion: better, previous: mid });
    const vsChampion = rb.verdict.checks.find((c) => c.kind === 'vs_champion')!;
    expect(vsChampion.candidate).toBeGreaterThan(vsChampion.reference!);

    runRollback(dir, 'test: the new champion misbehaves');
    expect(readAliases(registry).champion).toBe(mid);
    expect(readAudit(registry).some((e) => e.action === 'rollback' && e.reason === 'test: the new champion misbehaves')).toBe(true);
    expect(fs.readFileSync(path.join(dataLayout(dir).reports, 'index.html'), 'utf8')).toContain(`data-version="${better}"`);
  });

  it('forced promotion needs a reason and is audited', async () => {
    const dir = await setup();
    const registry = dataLayout(dir).registry;
    await registerLogistic(dir, -8, -5);
    await runEvaluate({ dataDir: dir, params });
    const worse = await registerLogistic(dir, 2, 1);
    await runEvaluate({ dataDir: dir, params });
    expect(() => runForcePromote(dir, worse, '  ')).toThrow(/reason/);
    runForcePromote(dir, worse, 'test: business override');
    expect(readAliases(registry).champion).toBe(worse);
    const forced = readAudit(registry).find((e) => e.action === 'force-promote');
    expect(forced).toMatchObject({ version: worse, reason: 'test: business override', forced: true, gate_decision: 'reject' });
  });
});

describe('decideGate', () => {
  const gate: EvaluateParams['gate'] = {
    split: 'test',
    floors: [{ metric: 'log_loss', value: 0.5 }],
    vs_champion: [{ metric: 'roc_auc', mode: 'relative', min_change: 0.02 }],
  };
  it('treats lower-is-better floors as ceilings and relative changes as shares', () => {
    const cand = { test: { log_loss: 0.4, roc_auc: 0.82 } };
    expect(decideGate('b', cand, { version: 'a', metrics: { test: { roc_auc: 0.8 } } }, gate).promote).toBe(true); // +2.5%
    expect(decideGate('b', { test: { log_loss: 0.4, roc_auc: 0.81 } }, { version: 'a', metrics: { test: { roc_auc: 0.8 } } }, gate).promote).toBe(false); // +1.25%
    expect(decideGate('b', { test: { log_loss: 0.6, roc_auc: 0.9 } }, null, gate).promote).toBe(false);
  });
  it('fails a check whose metric is missing or NaN instead of passing it silently', () => {
    const v = decideGate('b', { test: { log_loss: NaN } }, null, gate);
    expect(v.promote).toBe(false);
    expect(v.reasons[0]).toMatch(/reject/);
  });
  it('checks baselines also for a first model, and notes a missing baseline', () => {
    const g: EvaluateParams['gate'] = { split: 'test', floors: [], vs_champion: [], vs_baselines: [{ baseline: 'rule', metric: 'pr_auc', mode: 'absolute', min_change: 0 }] };
    const lose = decideGate('b', { test: { pr_auc: 0.5 } }, null, g, { rule: { test: { pr_auc: 0.7 } } });
    expect(lose.promote).toBe(false);
    expect(lose.checks[0]).toMatchObject({ kind: 'vs_baseline', passed: false, reference: 0.7 });
    expect(decideGate('b', { test: { pr_auc: 0.75 } }, null, g, { rule: { test: { pr_auc: 0.7 } } }).promote).toBe(true);
    expect(decideGate('b', { test: { pr_auc: 0.75 } }, null, g, {}).reasons.join(' ')).toMatch(/no rule baseline/);
  });
  it('honours an explicit direction (a lower-is-better rule on a metric)', () => {
    const g: EvaluateParams['gate'] = { split: 'test', floors: [], vs_champion: [{ metric: 'brier', mode: 'absolute', min_change: 0.01 }] };
    expect(decideGate('b', { test: { brier: 0.08 } }, { version: 'a', metrics: { test: { brier: 0.1 } } }, g).promote).toBe(true);
    expect(decideGate('b', { test: { brier: 0.095 } }, { version: 'a', metrics: { test: { brier: 0.1 } } }, g).promote).toBe(false);
  });
});
