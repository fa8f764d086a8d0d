import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, readJson } from '@bolsillo/core';
import { readAliases, readAudit } from '@bolsillo/model';
import { decideGate, type Verdict } from './gate';
import { DEFAULT_EVALUATE_PARAMS, type EvaluateParams } from './params';
import { writeIndex } from './evaluate-outputs';
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
  baselines = await registerBaselines(dir, rows);
  return dir;
}
let baselines: Awaited<ReturnType<typeof registerBaselines>>;

describe('promotion gate (registry on disk)', () => {
  it('promotes a first model that beats the strongest baseline, with the customer-level delta in the verdict', async () => {
    const dir = await setup();
    const v1 = await registerLogistic(dir, -2, -6);
    const r = await runEvaluate({
      dataDir: dir,
      params: { ...params, gate: { split: 'test', floors: [], vs_champion: [] } },
    });
    expect(r.version).toBe(v1);
    const verdict = readJson<Verdict>(path.join(dataLayout(dir).reports, v1, 'verdict.json'));
    expect(verdict).toMatchObject({
      decision: 'promote',
      promote: true,
      promoted: true,
      first_model: true,
      champion_before: null,
    });
    expect(verdict.reasons.join(' ')).toMatch(/first model/);
    // The strongest baseline of the four (by test PR-AUC) is named, with a delta interval whose lower bound is above 0.
    expect(['ratio_rule', 'ratio_graded']).toContain(verdict.strongest_baseline!.kind);
    expect(verdict.strongest_baseline!.delta.lo).toBeGreaterThan(0);
    expect(verdict.strongest_baseline!.customers).toBe(40);
    expect(verdict.served).toMatchObject({ version: v1, role: 'candidate' });
    expect(readAliases(dataLayout(dir).registry).champion).toBe(v1);
    // decision.json sits beside the model, where loadModel reads it.
    const decision = readJson<{ threshold: number; objective: string }>(
      path.join(dataLayout(dir).registry, 'models', v1, 'decision.json'),
    );
    expect(decision.objective).toBe('f1');
    expect(decision.threshold).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dataLayout(dir).reports, 'index.html'))).toBe(true);
    // The index reads metrics.json through its contract: a file missing a field is refused by name.
    const metricsFile = dataLayout(dir).reportMetrics(v1);
    const { gate_split: _dropped, ...metrics } = JSON.parse(fs.readFileSync(metricsFile, 'utf8')) as Record<
      string,
      unknown
    >;
    fs.writeFileSync(metricsFile, JSON.stringify(metrics));
    expect(() => writeIndex(dir)).toThrow(`${metricsFile} is not a valid EvaluationMetrics: /gate_split is required`);
  });

  it('does not promote a worse candidate, promotes a better one, and rollback restores the previous champion', async () => {
    const dir = await setup();
    const registry = dataLayout(dir).registry;
    const mid = await registerLogistic(dir, -2, -3);
    expect((await runEvaluate({ dataDir: dir, params })).verdict.promoted).toBe(true);

    const worse = await registerLogistic(dir, 2, 1); // inverted weights: ranks backwards
    const rw = await runEvaluate({ dataDir: dir, params });
    expect(rw.version).toBe(worse);
    expect(rw.verdict.promote).toBe(false);
    expect(rw.verdict.champion_before).toBe(mid);
    expect(rw.verdict.checks.filter((c) => !c.passed).map((c) => c.kind)).toEqual(
      expect.arrayContaining(['vs_baseline', 'vs_champion']),
    );
    // The champion is a model that still beats the strongest baseline: it keeps serving.
    expect(rw.verdict.served).toMatchObject({ version: mid, role: 'champion', change: false });
    expect(readAliases(registry).champion).toBe(mid);
    expect(readJson<Verdict>(path.join(dataLayout(dir).reports, worse, 'verdict.json')).decision).toBe('reject');

    const better = await registerLogistic(dir, -3, -12);
    const rb = await runEvaluate({ dataDir: dir, params });
    expect(rb.verdict.promoted).toBe(true);
    expect(readAliases(registry)).toMatchObject({ champion: better, previous: mid });
    const vsChampion = rb.verdict.checks.find((c) => c.kind === 'vs_champion')!;
    expect(vsChampion.candidate).toBeGreaterThan(vsChampion.reference!);

    runRollback(dir, 'test: the new champion misbehaves');
    expect(readAliases(registry).champion).toBe(mid);
    expect(
      readAudit(registry).some((e) => e.action === 'rollback' && e.reason === 'test: the new champion misbehaves'),
    ).toBe(true);
    expect(fs.readFileSync(path.join(dataLayout(dir).reports, 'index.html'), 'utf8')).toContain(
      `data-version="${better}"`,
    );
  });

  it('forced promotion needs a reason and is audited', async () => {
    const dir = await setup();
    const registry = dataLayout(dir).registry;
    await registerLogistic(dir, -3, -12);
    await runEvaluate({ dataDir: dir, params });
    const worse = await registerLogistic(dir, 2, 1);
    await runEvaluate({ dataDir: dir, params });
    expect(() => runForcePromote(dir, worse, '  ')).toThrow(/reason/);
    runForcePromote(dir, worse, 'test: business override');
    expect(readAliases(registry).champion).toBe(worse);
    const forced = readAudit(registry).find((e) => e.action === 'force-promote');
    expect(forced).toMatchObject({
      version: worse,
      reason: 'test: business override',
      forced: true,
      gate_decision: 'reject',
    });
  });
});

describe('never serve a model that a rule beats', () => {
  it('serves the strongest baseline when no model beats it, then promotes a model that does', async () => {
    const dir = await setup();
    const registry = dataLayout(dir).registry;
    const weak = await registerLogistic(dir, -0.3, 0.2); // ratio only, weakly, and essential the wrong way
    const r = await runEvaluate({ dataDir: dir, params });
    const v = r.verdict;
    expect(v.promote).toBe(false);
    expect(v.reasons[0]).toMatch(new RegExp(`reject ${weak}: no model beats ${v.strongest_baseline!.label}`));
    expect(v.strongest_baseline!.beaten).toBe(false);
    expect(v.served).toMatchObject({
      role: 'baseline',
      change: true,
      version: baselines[v.strongest_baseline!.kind as keyof typeof baselines],
    });
    expect(readAliases(registry).champion).toBe(v.served.version);
    // The served baseline gets a decision threshold chosen like the candidate's.
    expect(fs.existsSync(path.join(registry, 'models', v.served.version!, 'decision.json'))).toBe(true);

    // A champion that is a baseline sets no bar of its own beyond the baselines'.
    const good = await registerLogistic(dir, -3, -12);
    const r2 = await runEvaluate({ dataDir: dir, params });
    expect(r2.verdict.promote).toBe(true);
    expect(r2.verdict.reasons.join(' ')).toMatch(/is the .* baseline: only the baselines' bar applies/);
    expect(readAliases(registry)).toMatchObject({ champion: good, previous: v.served.version });
  });
});

describe('decideGate', () => {
  const e = (value: number, lo: number, hi: number) => ({ value, lo, hi });
  const gate: EvaluateParams['gate'] = {
    split: 'test',
    metric: 'pr_auc',
    margin: 0,
    floors: [{ metric: 'log_loss', value: 0.5 }],
    vs_champion: [{ metric: 'roc_auc', mode: 'relative', min_change: 0.02, bound: 'point' }],
  };
  const baselines = [
    {
      id: 'prior',
      label: 'prior baseline',
      version: 'p',
      kind: 'prior',
      metrics: { test: { pr_auc: 0.1 } },
      delta: { pr_auc: e(0.5, 0.4, 0.6) },
    },
    {
      id: 'ratio_rule',
      label: 'ratio_rule baseline',
      version: 'r',
      kind: 'ratio_rule',
      metrics: { test: { pr_auc: 0.55 } },
      delta: { pr_auc: e(0.05, -0.02, 0.12) },
    },
  ];
  it('names the strongest baseline and rejects a candidate whose interval against it reaches the margin', () => {
    const v = decideGate(
      { version: 'b', candidate: { test: { pr_auc: 0.6, log_loss: 0.3 } }, champion: null, baselines },
      gate,
    );
    expect(v.strongest_baseline).toMatchObject({ kind: 'ratio_rule', value: 0.55, beaten: false });
    expect(v.promote).toBe(false);
    expect(v.reasons[0]).toMatch(/no model beats ratio_rule baseline; serving ratio_rule baseline \(r\)/);
    expect(v.served).toMatchObject({ version: 'r', role: 'baseline', change: true });
  });
  it('promotes when the lower bound clears the margin, and a higher margin can still refuse', () => {
    const bs = [baselines[0]!, { ...baselines[1]!, delta: { pr_auc: e(0.05, 0.01, 0.09) } }];
    const cand = { test: { pr_auc: 0.6, log_loss: 0.3 } };
    expect(decideGate({ version: 'b', candidate: cand, champion: null, baselines: bs }, gate)).toMatchObject({
      promote: true,
      served: { version: 'b', role: 'candidate' },
    });
    expect(
      decideGate({ version: 'b', candidate: cand, champion: null, baselines: bs }, { ...gate, margin: 0.02 }).promote,
    ).toBe(false);
    // Floors still apply: a lower-is-better floor is a ceiling.
    expect(
      decideGate(
        { version: 'b', candidate: { test: { pr_auc: 0.6, log_loss: 0.6 } }, champion: null, baselines: bs },
        gate,
      ).promote,
    ).toBe(false);
  });
  it('keeps a champion that beats the strongest baseline, replaces one that does not', () => {
    const cand = { test: { pr_auc: 0.5, log_loss: 0.3 } };
    const champion = {
      id: 'champion',
      label: 'mlp a',
      version: 'a',
      metrics: { test: { pr_auc: 0.7, roc_auc: 0.9 } },
      delta: { pr_auc: e(-0.2, -0.3, -0.1), roc_auc: e(-0.1, -0.2, 0) },
    };
    const keep = decideGate(
      { version: 'b', candidate: cand, champion: { ...champion, vs_strongest: e(0.15, 0.05, 0.25) }, baselines },
      gate,
    );
    expect(keep.served).toMatchObject({ version: 'a', role: 'champion', change: false });
    const replace = decideGate(
      { version: 'b', candidate: cand, champion: { ...champion, vs_strongest: e(0.15, -0.05, 0.25) }, baselines },
      gate,
    );
    expect(replace.served).toMatchObject({ version: 'r', role: 'baseline', change: true });
    expect(replace.reasons.join(' ')).toMatch(/does not beat the strongest baseline, so it is replaced/);
  });
  it('judges the champion on the interval when bound is lower, and fails a missing metric instead of passing it', () => {
    const bs = [{ ...baselines[1]!, delta: { pr_auc: e(0.05, 0.01, 0.09) } }];
    const champion = {
      id: 'champion',
      label: 'mlp a',
      version: 'a',
      metrics: { test: { pr_auc: 0.55 } },
      delta: { pr_auc: e(0.05, -0.01, 0.11) },
      vs_strongest: e(0, -0.05, 0.05),
    };
    const g: EvaluateParams['gate'] = {
      ...gate,
      floors: [],
      vs_champion: [{ metric: 'pr_auc', mode: 'absolute', min_change: 0 }],
    };
    const v = decideGate({ version: 'b', candidate: { test: { pr_auc: 0.6 } }, champion, baselines: bs }, g);
    expect(v.checks.find((c) => c.kind === 'vs_champion')).toMatchObject({ passed: false });
    // The champion does not beat the rule but the candidate does: the champion's bar does not bind, the candidate replaces it.
    expect(v).toMatchObject({ promote: true, served: { role: 'candidate' } });
    expect(v.reasons.join(' ')).toMatch(/not binding/);
    // A champion that beats the rule binds: the candidate must beat it on the interval too.
    expect(
      decideGate(
        {
          version: 'b',
          candidate: { test: { pr_auc: 0.6 } },
          champion: { ...champion, vs_strongest: e(0.05, 0.01, 0.09) },
          baselines: bs,
        },
        g,
      ),
    ).toMatchObject({ promote: false, served: { version: 'a', role: 'champion' } });
    expect(
      decideGate(
        {
          version: 'b',
          candidate: { test: { pr_auc: 0.6 } },
          champion: { ...champion, vs_strongest: e(0.05, 0.01, 0.09), delta: { pr_auc: e(0.05, 0.01, 0.09) } },
          baselines: bs,
        },
        g,
      ).promote,
    ).toBe(true);
    expect(
      decideGate({ version: 'b', candidate: { test: { log_loss: NaN } }, champion: null, baselines: [] }, g),
    ).toMatchObject({ promote: false, strongest_baseline: null });
  });
});
