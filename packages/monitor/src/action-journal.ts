/**
 * A monitor run's actions, journalled while they run (`monitoring/.actions-pending.json`), so that a run
 * killed between moving an alias and writing `actions.jsonl` and `state.json` is recorded by the next
 * run as it would have been: the actions that ran, the one in flight if the registry's audit trail
 * shows it happened, and the policy state the run reached.
 */
import fs from 'node:fs';
import { appendJsonl, readJson, writeJsonAtomic, type DataLayout } from '@bolsillo/core';
import { readAudit } from '@bolsillo/model';
import type { Aliases } from '@bolsillo/schema';
import { registryRecord, type ActionRecord } from './actions';
import type { MonitorState, PlannedAction } from './policy';

/** The journal of a run whose actions are under way. */
export interface ActionJournal {
  readonly run: number;
  readonly ts: string;
  /** Audit trail entries before the run's first action: later ones are this run's. */
  readonly auditEntries: number;
  /** The policy state the run writes once its actions are recorded. */
  readonly state: MonitorState;
  readonly planned: readonly PlannedAction[];
  /** Records of the actions carried out so far, in `planned` order. */
  readonly records: readonly ActionRecord[];
}

/**
 * Carry out `planned` one by one through `execute`, journalling before each, then append the records
 * to `actions.jsonl`, write `state.json` and drop the journal. Returns the records.
 */
export function runJournalled(
  layout: DataLayout,
  start: Omit<ActionJournal, 'records' | 'auditEntries'>,
  execute: (a: PlannedAction) => ActionRecord,
): ActionRecord[] {
  const records: ActionRecord[] = [];
  const journal = { ...start, auditEntries: readAudit(layout.registry).length };
  for (const a of start.planned) {
    writeJsonAtomic(layout.monitorActionsPending, { ...journal, records });
    records.push(execute(a));
  }
  finish(layout, records, start.state);
  return records;
}

/**
 * Record the actions of a run that was killed while they ran (nothing when no journal is left): the
 * records it finished, the action in flight as executed when the audit trail after the run's start
 * holds its alias move (as failed, outcome unknown, for a retrain), and those it never reached as
 * skipped. Returns the records appended.
 */
export function recoverJournal(layout: DataLayout): ActionRecord[] {
  const journal = readJson<ActionJournal | null>(layout.monitorActionsPending, null);
  if (!journal) return [];
  const records = [...journal.records];
  const moves = readAudit(layout.registry).slice(journal.auditEntries);
  for (const a of journal.planned.slice(records.length)) {
    const base = {
      ts: journal.ts,
      run: journal.run,
      rule: a.rule,
      action: a.action,
      version: a.version,
      reason: a.reason,
    };
    const inFlight = records.length === journal.records.length;
    const move = inFlight ? moves.find((e) => e.action === a.action && e.reason === `monitor: ${a.reason}`) : undefined;
    if (move) records.push(registryRecord(a, base, move.after as Aliases));
    else if (inFlight && a.action === 'retrain')
      records.push({
        ...base,
        status: 'failed',
        detail: 'the monitor run was killed during the retrain: outcome unknown',
      });
    else records.push({ ...base, status: 'skipped', detail: 'the monitor run was killed before this action' });
  }
  finish(layout, records, journal.state);
  return records;
}

function finish(layout: DataLayout, records: readonly ActionRecord[], state: MonitorState): void {
  appendJsonl(layout.monitorActions, records);
  writeJsonAtomic(layout.monitorState, state);
  fs.rmSync(layout.monitorActionsPending, { force: true });
}
