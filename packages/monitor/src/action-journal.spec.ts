import fs from 'node:fs';
import { dataLayout, readJsonl, writeJsonAtomic } from '@bolsillo/core';
import { recoverJournal, runJournalled, type ActionJournal } from './action-journal';
import type { ActionRecord } from './actions';
import type { PlannedAction } from './policy';
import { removeTempDataDirs, tempDataDir } from './scenario.test-util';

afterAll(removeTempDataDirs);

const planned: PlannedAction[] = [
  { rule: 'drift', action: 'retrain', version: null, reason: 'amount drifted' },
  { rule: 'degraded', action: 'rollback', version: null, reason: 'PR-AUC fell' },
];
const state = { runs: 7, rules: { drift: { consecutive: 2 } } } as unknown as ActionJournal['state'];

describe('monitor action journal', () => {
  it('records a killed run: the retrain in flight as failed (outcome unknown), the action never reached as skipped', () => {
    const layout = dataLayout(tempDataDir('journal-killed'));
    writeJsonAtomic(layout.monitorActionsPending, {
      run: 7,
      ts: '2026-12-03T10:00:00.000Z',
      auditEntries: 0,
      state,
      planned,
      records: [],
    } satisfies ActionJournal);
    const records = recoverJournal(layout);
    expect(records.map((r) => [r.action, r.status, r.run, r.ts])).toEqual([
      ['retrain', 'failed', 7, '2026-12-03T10:00:00.000Z'],
      ['rollback', 'skipped', 7, '2026-12-03T10:00:00.000Z'],
    ]);
    expect(readJsonl<ActionRecord>(layout.monitorActions)).toEqual(records);
    expect(JSON.parse(fs.readFileSync(layout.monitorState, 'utf8'))).toEqual(state);
    expect(fs.existsSync(layout.monitorActionsPending)).toBe(false);
    // Nothing left to recover: a second call records nothing more.
    expect(recoverJournal(layout)).toEqual([]);
    expect(readJsonl<ActionRecord>(layout.monitorActions)).toHaveLength(2);
  });

  it('journals before each action and leaves only the records and the state once they ran', () => {
    const layout = dataLayout(tempDataDir('journal-clean'));
    const seen: number[] = [];
    const records = runJournalled(layout, { run: 7, ts: 't', state, planned }, (a) => {
      // Each action runs with the journal on disk, holding the records before it.
      seen.push((JSON.parse(fs.readFileSync(layout.monitorActionsPending, 'utf8')) as ActionJournal).records.length);
      return {
        ts: 't',
        run: 7,
        rule: a.rule,
        action: a.action,
        version: null,
        reason: a.reason,
        status: 'requested',
        detail: '',
      };
    });
    expect(seen).toEqual([0, 1]);
    expect(readJsonl<ActionRecord>(layout.monitorActions)).toEqual(records);
    expect(JSON.parse(fs.readFileSync(layout.monitorState, 'utf8'))).toEqual(state);
    expect(fs.existsSync(layout.monitorActionsPending)).toBe(false);
  });
});
