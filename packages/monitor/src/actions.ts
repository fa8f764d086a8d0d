/**
 * Carrying out what the alarm policy asks for, the way a person would: registry rollback and promote
 * (atomic, audited), retrain as the pipeline command in a child process.
 */
import { spawnSync } from 'node:child_process';
import { promote, rollback } from '@bolsillo/model';
import type { Aliases } from '@bolsillo/schema';
import type { PlannedAction } from './policy';

/** The command a person runs to retrain: build, train and evaluate again, bypassing the Nx cache. */
export const RETRAIN_COMMAND: readonly string[] = [
  'npx',
  'nx',
  'run-many',
  '-t',
  'pipeline',
  '--projects=build,train,evaluate',
  '--skip-nx-cache',
];

/** One line of `monitoring/actions.jsonl`. */
export interface ActionRecord {
  readonly ts: string;
  readonly run: number;
  readonly rule: string;
  readonly action: PlannedAction['action'];
  readonly version: string | null;
  /** executed · requested (retrain not allowed in this run) · dry-run · failed · skipped */
  readonly status: 'executed' | 'requested' | 'dry-run' | 'failed' | 'skipped';
  readonly reason: string;
  readonly detail: string;
}

/** Where and how actions run. */
export interface ActionContext {
  readonly registry: string;
  readonly dataDir: string;
  /** The monitor run number and time the action is recorded under. */
  readonly run: number;
  readonly ts: string;
  readonly dryRun: boolean;
  readonly allowRetrain: boolean;
  readonly retrainCommand?: readonly string[];
  readonly workspaceRoot?: string;
}

/**
 * Carry out one planned action: registry `rollback` / `promote`, retrain as the pipeline command
 * with the same DATA_DIR (only when allowed: inside the Nx pipeline a retrain would recurse). A dry
 * run changes nothing; a failure is recorded, never thrown.
 */
export function executeAction(a: PlannedAction, ctx: ActionContext): ActionRecord {
  const base = { ts: ctx.ts, run: ctx.run, rule: a.rule, action: a.action, version: a.version, reason: a.reason };
  if (ctx.dryRun) return { ...base, status: 'dry-run', detail: 'dry run: nothing changed' };
  try {
    if (a.action === 'rollback') return registryRecord(a, base, rollback(ctx.registry, `monitor: ${a.reason}`));
    if (a.action === 'promote') {
      if (!a.version) return { ...base, status: 'skipped', detail: 'no challenger to promote' };
      return registryRecord(a, base, promote(ctx.registry, a.version, `monitor: ${a.reason}`));
    }
    const command = ctx.retrainCommand ?? RETRAIN_COMMAND;
    if (!ctx.allowRetrain)
      return {
        ...base,
        status: 'requested',
        detail: `retrain requested; run \`${command.join(' ')}\` (or the monitor with --allow-retrain)`,
      };
    const res = spawnSync(command[0]!, command.slice(1), {
      cwd: ctx.workspaceRoot ?? process.cwd(),
      env: { ...process.env, DATA_DIR: ctx.dataDir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (res.status === 0) return { ...base, status: 'executed', detail: `${command.join(' ')}: exit 0` };
    return { ...base, status: 'failed', detail: `${command.join(' ')}: exit ${res.status ?? res.signal}` };
  } catch (error) {
    return { ...base, status: 'failed', detail: (error as Error).message };
  }
}

/** The record of a rollback or promotion that left the aliases `after` (what the registry returned, or its audit entry shows). */
export function registryRecord(
  a: PlannedAction,
  base: Omit<ActionRecord, 'status' | 'detail'>,
  after: Pick<Aliases, 'champion' | 'previous'>,
): ActionRecord {
  return a.action === 'rollback'
    ? { ...base, version: after.champion, status: 'executed', detail: `champion is now ${after.champion}` }
    : { ...base, status: 'executed', detail: `champion is now ${after.champion}, previous ${after.previous}` };
}
