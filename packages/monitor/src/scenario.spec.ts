import fs from 'node:fs';
import path from 'node:path';
import { appendJsonl, dataLayout, readContract, readJsonl } from '@bolsillo/core';
import { readAliases, readAudit, setAlias } from '@bolsillo/model';
import { MasterLatestSchema, type FeatureRow, type PredictionLogEntry } from '@bolsillo/schema';
import { auditTrail, killAtAppend, runStageCli } from '@bolsillo/testing';
import { renderMonitoringPage } from './page';
import type { ActionRecord } from './actions';
import type { MonitorSummary } from './monitor-outputs';
import { runMonitor, type MonitorOptions } from './run';
import {
  generatedFeatureRows,
  promoteVersion,
  registerRule,
  RULES,
  shippedConfig,
  tempDataDir,
  removeTempDataDirs,
  writeFeatureStore,
  writeReference,
} from './scenario.test-util';

// Reference = the generated population up to the cut; the window = its later days (new partitions).
const CUT = '2020-03-10';
const GEN = { rows: 10000, seed: 11, start: '2019-09-01', end: '2020-04-30' };
// Features computed from amounts or from the available limit (which the generator lowers by the amounts spent).
// Amounts lower the available limit, so the ratio-based features and the flagged counts move too.
const AMOUNT_DERIVED = [
  'amount',
  'log_amount',
  'available_ratio',
  'day_min_available_ratio',
  'min_available_ratio_7d',
  'mean_available_ratio_30d',
  'available_ratio_trend_30d',
  'day_sum',
  'hist_sum_7d',
  'hist_sum_30d',
  'hist_nonessential_share_30d',
  'amount_to_running_mean',
  'revenge_count_today',
  'revenge_count_7d',
  'revenge_count_30d',
  'days_since_revenge',
];

let base: FeatureRow[];
let amountShifted: FeatureRow[];
let ageShifted: FeatureRow[];

beforeAll(() => {
  base = generatedFeatureRows(GEN);
  amountShifted = generatedFeatureRows({ ...GEN, shift: { amountScale: 4 } });
  ageShifted = generatedFeatureRows({ ...GEN, shift: { ageOffset: 8 } });
});

function setUp(name: string, window: readonly FeatureRow[]): string {
  const dir = tempDataDir(name);
  const reference = base.filter((r) => r.date <= CUT);
  writeReference(dir, reference);
  // The monitor reads only partitions newer than the master table, so only those are written.
  writeFeatureStore(
    dir,
    window.filter((r) => r.date > CUT),
  );
  return dir;
}

async function monitor(
  dataDir: string,
  extra: Partial<Pick<MonitorOptions, 'dryRun' | 'allowRetrain' | 'retrainCommand' | 'policy'>> = {},
): Promise<MonitorSummary> {
  const { params, policy } = shippedConfig();
  return runMonitor({
    dataDir,
    params,
    policy,
    dryRun: false,
    allowRetrain: false,
    now: new Date('2020-05-08T00:00:00Z'),
    log: () => undefined,
    ...extra,
  });
}

const drifted = (s: MonitorSummary) => (s.drift.result?.features ?? []).filter((f) => f.drifted).map((f) => f.feature);
/** Every file under a folder with its content, to show a run changed nothing. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}
const actionsOf = (dir: string) => readJsonl<ActionRecord>(path.join(dir, 'monitoring', 'actions.jsonl'));

describe('monitor scenarios on generated data', () => {
  afterAll(removeTempDataDirs);
  it("refuses a reference profile that is not build's contract, naming the file and the field", async () => {
    const dir = setUp('bad-profile', base);
    const layout = dataLayout(dir);
    const file = layout.masterProfile(readContract(layout.masterLatest, MasterLatestSchema).hash);
    const { rows: _dropped, ...profile } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify(profile));
    await expect(monitor(dir)).rejects.toThrow(`${file} is not a valid Profile: /rows is required`);
  });

  it('a fresh sample of the same distribution raises no alarm', async () => {
    const dir = setUp('fresh', base);
    const first = await monitor(dir);
    const second = await monitor(dir);
    expect(second.drift.window.kind).toBe('new-partitions');
    expect(second.drift.window.from! > CUT).toBe(true);
    expect(second.drift.window.rows).toBeGreaterThan(1000);
    expect(drifted(first)).toEqual([]);
    expect(second.drift.result!.psiAboveCount).toBe(0);
    expect(second.alarms.alarms.find((a) => a.rule === 'feature-drift')!.status).toBe('ok');
    expect(actionsOf(dir)).toEqual([]);
    for (const f of ['drift.json', 'model-metrics.json', 'costs.json', 'value.json', 'alarms.json', 'data.json'])
      expect(fs.existsSync(path.join(dir, 'monitoring', 'report', f))).toBe(true);
  });

  it('reports data health: files ingest quarantined, k-anonymity below the minimum, merchant groups absent from the reference', async () => {
    const window = base
      .filter((r) => r.date > CUT)
      .map((r, i) => (i % 50 === 0 ? { ...r, merchant_group: 'GRUPO NOVO' } : r));
    const dir = setUp('data-health', window);
    fs.mkdirSync(path.join(dir, 'lake'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'lake', 'manifest.json'),
      JSON.stringify({
        version: 1,
        files: {},
        partitions: {},
        content_hash: '',
        rejected: { 'renamed.csv': { sha256: 'x', reason: 'renamed.csv: wrong header: missing columns " valor "' } },
        k_anonymity: {
          min_k: 5,
          ok: false,
          sets: [
            { quasi_identifiers: ['age', 'sex', 'city', 'state'], k: 1, ok: false },
            { quasi_identifiers: ['sex', 'state'], k: 9, ok: true },
          ],
        },
      }),
    );
    const s = await monitor(dir);
    const unseen = window.filter((r) => r.merchant_group === 'GRUPO NOVO').length;
    expect(s.data.rejected_files).toEqual([
      { file: 'renamed.csv', reason: 'renamed.csv: wrong header: missing columns " valor "' },
    ]);
    expect(s.data.unseen_merchant_groups.window).toEqual({ 'GRUPO NOVO': unseen });
    expect(s.data.warnings).toEqual([
      'file renamed.csv quarantined by ingest: renamed.csv: wrong header: missing columns " valor "',
      'k-anonymity 1 over (age, sex, city, state) is below the minimum 5',
      `merchant group GRUPO NOVO is not in the reference master table (${unseen} window rows)`,
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'monitoring', 'report', 'data.json'), 'utf8'))).toEqual(s.data);
    expect(renderMonitoringPage(dir)).toContain('file renamed.csv quarantined by ingest');
  });

  it('an age shift drifts age and nothing else', async () => {
    const dir = setUp('age', ageShifted);
    const s = await monitor(dir);
    expect(drifted(s)).toEqual(['age']);
  });

  it('an amount shift drifts the amount-derived features only and requests a retrain after two runs', async () => {
    const dir = setUp('amount', amountShifted);
    const first = await monitor(dir);
    const names = drifted(first);
    expect(names).toEqual(expect.arrayContaining(['amount', 'log_amount', 'hist_sum_30d']));
    for (const n of names) expect(AMOUNT_DERIVED).toContain(n);
    expect(first.drift.result!.psiAboveCount).toBeGreaterThanOrEqual(3);
    // Hysteresis: the policy wants the condition on 2 consecutive runs.
    expect(first.alarms.alarms.find((a) => a.rule === 'feature-drift')!.status).toBe('pending');
    expect(actionsOf(dir)).toEqual([]);

    const before = snapshot(path.join(dir, 'monitoring'));
    const dry = await monitor(dir, { dryRun: true });
    expect(dry.alarms.actions.map((a) => a.status)).toEqual(['dry-run']);
    // A dry run writes nothing: no state, no actions, no report, no drift history.
    expect(snapshot(path.join(dir, 'monitoring'))).toEqual(before);

    const second = await monitor(dir);
    expect(second.alarms.alarms.find((a) => a.rule === 'feature-drift')!.status).toBe('firing');
    const retrain = actionsOf(dir).filter((a) => a.status !== 'dry-run');
    expect(retrain.map((a) => [a.action, a.status])).toEqual([['retrain', 'requested']]);

    // Latched: no second request while the drift persists.
    const third = await monitor(dir);
    expect(third.alarms.alarms.find((a) => a.rule === 'feature-drift')!.status).toBe('latched');
    expect(actionsOf(dir).filter((a) => a.status === 'requested')).toHaveLength(1);
  });

  it('a degraded champion is rolled back to the previous version through the registry', async () => {
    const dir = setUp('rollback', base);
    const good = await registerRule(dir, '20200101T000000Z-aaaaaa', RULES.good, 0.8);
    const poor = await registerRule(dir, '20200201T000000Z-bbbbbb', RULES.poor, 0.8);
    promoteVersion(dir, good);
    promoteVersion(dir, poor);
    expect(readAliases(path.join(dir, 'registry'))).toMatchObject({ champion: poor, previous: good });
    // A few served predictions with feedback, as the API would log them.
    const window = base.filter((r) => r.date > CUT).slice(0, 40);
    const log: PredictionLogEntry[] = window.map((r, i) => ({
      request_id: `req-${i}`,
      ts: `${r.date}T12:00:00.000Z`,
      model_version: poor,
      variant: 'champion',
      customer_key: r.customer_key,
      date: r.date,
      features: { age: r.age },
      probability: r.age > 45 ? 1 : 0,
      label: r.age > 45,
      latency_ms: 1 + (i % 3),
      cpu_us: 100 + i,
    }));
    appendJsonl(path.join(dir, 'monitoring', 'predictions', `date=${window[0]!.date}`, '1-0.jsonl'), log);
    appendJsonl(
      path.join(dir, 'monitoring', 'feedback', `date=${window[0]!.date}`, '1-0.jsonl'),
      log.map((l, i) => ({ request_id: l.request_id, is_revenge_spending: i % 4 === 0, ts: l.ts })),
    );

    const s = await monitor(dir);
    expect(s.metrics.labels.feedback).toBe(40);
    expect(s.metrics.labels.computed).toBeGreaterThan(1000);
    const alarm = s.alarms.alarms.find((a) => a.rule === 'champion-degraded')!;
    expect(alarm.status).toBe('firing');
    expect(s.alarms.actions.map((a) => [a.action, a.status])).toEqual([['rollback', 'executed']]);
    expect(readAliases(path.join(dir, 'registry')).champion).toBe(good);
    expect(
      readAudit(path.join(dir, 'registry')).some(
        (e) => e.action === 'rollback' && String(e.reason).startsWith('monitor: champion-degraded'),
      ),
    ).toBe(true);
    // Value per version from decision.json's matrix; costs from the prediction log.
    expect(s.value.points.some((p) => p.modelVersion === poor && p.date === 'total' && p.n > 1000)).toBe(true);
    expect(s.costs.serving.reduce((n, d) => n + d.predictions, 0)).toBe(40);
    // The good model, now champion, does not trip the rule on the next run.
    const next = await monitor(dir);
    expect(next.alarms.actions).toEqual([]);
  });

  it('with --allow-retrain, a retrain runs as a child process with the same DATA_DIR', async () => {
    const dir = setUp('retrain', amountShifted);
    const { policy } = shippedConfig();
    const once = {
      ...policy,
      rules: policy.rules.map((r) => (r.kind === 'drift' ? { ...r, consecutive_runs: 1 } : r)),
    };
    const marker = "require('fs').writeFileSync(require('path').join(process.env.DATA_DIR, 'retrained.txt'), 'yes')";
    const s = await monitor(dir, {
      policy: once,
      allowRetrain: true,
      retrainCommand: [process.execPath, '-e', marker],
    });
    expect(s.alarms.actions.map((a) => [a.action, a.status])).toEqual([['retrain', 'executed']]);
    expect(fs.readFileSync(path.join(dir, 'retrained.txt'), 'utf8')).toBe('yes');
  });

  it('a significantly better challenger is promoted', async () => {
    const dir = setUp('promote', base);
    const poor = await registerRule(dir, '20200101T000000Z-cccccc', RULES.poor, 0.3);
    const good = await registerRule(dir, '20200201T000000Z-dddddd', RULES.good, 0.8);
    promoteVersion(dir, poor);
    setAlias(path.join(dir, 'registry'), 'challenger', good, 'test setup');
    const s = await monitor(dir);
    const alarm = s.alarms.alarms.find((a) => a.rule === 'challenger-better')!;
    expect(alarm.status).toBe('firing');
    expect(s.alarms.actions.map((a) => [a.action, a.status, a.version])).toEqual([['promote', 'executed', good]]);
    expect(readAliases(path.join(dir, 'registry'))).toMatchObject({ champion: good, previous: poor, challenger: null });
  });

  it('a promotion killed (SIGKILL) between the aliases and the audit trail is audited and recorded by the next run', async () => {
    const dir = setUp('promote-killed', base);
    const registry = path.join(dir, 'registry');
    const poor = await registerRule(dir, '20200101T000000Z-cccccc', RULES.poor, 0.3);
    const good = await registerRule(dir, '20200201T000000Z-dddddd', RULES.good, 0.8);
    promoteVersion(dir, poor);
    setAlias(registry, 'challenger', good, 'test setup');
    const clean = tempDataDir('promote-clean');
    fs.cpSync(dir, clean, { recursive: true });
    // A clean run promotes the challenger; on this fixture the next run finds it below its evaluation and rolls back.
    for (const _run of [1, 2]) expect(await runStageCli('monitor', [], { DATA_DIR: clean })).toBe(0);
    const cleanTrail = auditTrail(path.join(clean, 'registry'));
    expect(cleanTrail.map((line) => /"action":"(\w+)"/.exec(line)![1]).slice(-2)).toEqual(['promote', 'rollback']);
    const killed = { DATA_DIR: dir, ...killAtAppend('audit.jsonl', '"action":"promote"') };
    expect(await runStageCli('monitor', [], killed, undefined, null)).toBeNull();
    expect(readAliases(registry)).toMatchObject({ champion: good, previous: poor, challenger: null });
    expect(auditTrail(registry)).toEqual(cleanTrail.slice(0, -2));
    // The killed run's actions and policy state are not written yet: its journal holds them.
    expect(fs.existsSync(path.join(dir, 'monitoring', '.actions-pending.json'))).toBe(true);
    // The next run audits the promotion before its own rollback: the clean runs' trail.
    expect(await runStageCli('monitor', [], { DATA_DIR: dir })).toBe(0);
    expect(auditTrail(registry)).toEqual(cleanTrail);
    // And records the killed run's promotion before its own rollback: the clean runs' actions and state.
    const actions = (d: string) =>
      fs
        .readFileSync(path.join(d, 'monitoring', 'actions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { ts: _ts, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        });
    expect(actions(clean).map((a) => [a.action, a.status])).toEqual([
      ['promote', 'executed'],
      ['rollback', 'executed'],
    ]);
    expect(actions(dir)).toEqual(actions(clean));
    const state = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'monitoring', 'state.json'), 'utf8'));
    expect(state(dir)).toEqual(state(clean));
    expect(fs.existsSync(path.join(dir, 'monitoring', '.actions-pending.json'))).toBe(false);
  }, 120_000);
});
