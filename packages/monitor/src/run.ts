/**
 * The I/O adapter of the monitor stage: read the reference and the window, the served models and
 * the labelled outcomes, then compute drift, metrics, value and costs (pure), run the alarm policy,
 * carry out its actions, and write the reports and the policy state.
 */
import fs from 'node:fs';
import { dataLayout, listPartitions, loadParams, readContract, readContractLines, readJson } from '@bolsillo/core';
import { completeAliasMove, readAliases } from '@bolsillo/model';
import { IngestManifestSchema, StageRunSchema } from '@bolsillo/schema';
import { runJournalled, recoverJournal } from './action-journal';
import { executeAction } from './actions';
import { computeCosts } from './costs';
import { dataHealth, seenGroupsOf } from './data-health';
import { readFeedback, readMasterSample, readPredictionLog, readReference } from './io';
import { readMaturedWindow } from './matured';
import { driftReport, performanceReports, writeMonitorReports, type MonitorSummary } from './monitor-outputs';
import { inWindow, planWindow, readWindow, windowDrift } from './monitor-window';
import { championScoreDrift, computedOutcomes, feedbackOutcomes, judgedBy, recentOutcomes } from './outcomes';
import { MonitorParamsSchema, type MonitorParams } from './params';
import {
  driftInputsOf,
  emptyState,
  evaluatePolicy,
  PolicySchema,
  type MonitorState,
  type PlannedAction,
  type Policy,
} from './policy';
import { cardThresholdOf, championEvaluationOf, decisionOf, loadServed } from './served-models';

/** Options of {@link runMonitor}. */
export interface MonitorOptions {
  readonly dataDir: string;
  readonly params: MonitorParams;
  readonly policy: Policy;
  /** Monitoring window; default: feature-store partitions newer than the master table's data. */
  readonly from?: string;
  readonly to?: string;
  /** Evaluate the policy and report what would happen, without acting or updating state.json. */
  readonly dryRun: boolean;
  /** Run a requested retrain (a child process). Off by default: inside the Nx pipeline a retrain would recurse. */
  readonly allowRetrain: boolean;
  readonly retrainCommand?: readonly string[];
  /** Working directory of the retrain command (the workspace root). */
  readonly workspaceRoot?: string;
  readonly now: Date;
  readonly log: (message: string) => void;
}

/** Params and policy files of the stage, validated. */
export function loadMonitorConfig(paramsFile: string, policyFile: string): { params: MonitorParams; policy: Policy } {
  return { params: loadParams(paramsFile, MonitorParamsSchema), policy: loadParams(policyFile, PolicySchema) };
}

/**
 * The monitor stage: drift of the window against the build's profile, model metrics and value from
 * labelled outcomes, compute cost, then the alarm policy and its actions. Writes
 * `monitoring/report/*.json`, `monitoring/state.json` and appends to `monitoring/actions.jsonl`;
 * a dry run writes none of them.
 */
export async function runMonitor(opts: MonitorOptions): Promise<MonitorSummary> {
  const layout = dataLayout(opts.dataDir);
  const { params, policy, log } = opts;
  const ts = opts.now.toISOString();

  // Reference and window: the build's profile and test rows, against the partitions to watch.
  const reference = readReference(layout);
  const master = reference
    ? await readMasterSample(reference.dir, params.metrics.score_reference_rows)
    : { lastDate: null, testRows: [] };
  const plan = planWindow(
    { from: opts.from, to: opts.to },
    () => listPartitions(layout.featureStore).map((p) => p.date),
    master.lastDate,
    params.window.fallback_days,
  );
  const window = readWindow(layout.featureStore, plan, params);
  log(
    `window ${plan.kind}: ${window.dates.length} partitions, ${window.total} rows${window.sampled < window.total ? ` (seeded sample of ${window.sampled})` : ''}${reference ? ` vs master ${reference.hash.slice(0, 12)}` : ' (no reference profile)'}`,
  );
  const drift = windowDrift(reference, window, params);

  // A run that may act writes the registry: first the audit entry of a move a killed run left unrecorded,
  // then the actions and policy state of a monitor run killed while acting.
  if (!opts.dryRun) {
    completeAliasMove(layout.registry);
    const recovered = recoverJournal(layout);
    if (recovered.length > 0)
      log(
        `recorded the actions of run ${recovered[0]!.run}, killed while acting: ${recovered.map((a) => `${a.action}:${a.status}`).join(', ')}`,
      );
  } else if (fs.existsSync(layout.monitorActionsPending))
    log('WARNING: a monitor run was killed while acting; the next run without --dry-run records its actions');
  // Labelled outcomes: feedback joined to the prediction log, and window snapshots whose label matured.
  const aliases = readAliases(layout.registry);
  const served = await loadServed(layout.registry, aliases, log);
  const models = [served.champion, served.challenger, served.previous];
  const predictions = readPredictionLog(layout.predictionLog);
  const fromFeedback = feedbackOutcomes(predictions, readFeedback(layout.feedbackLog));
  const matured = readMaturedWindow(layout, reference?.hash ?? null, window);
  log(
    `labels: ${matured.rows.length} matured snapshots in the window, ${matured.pending} waiting for their ${matured.horizonDays}-day horizon`,
  );
  const outcomes = [...fromFeedback, ...computedOutcomes(models, matured)];
  const judged = judgedBy(
    outcomes,
    models,
    (v) => decisionOf(layout, v, log),
    (v) => cardThresholdOf(layout.registry, v),
  );
  const score =
    served.champion && params.metrics.score_reference_rows > 0
      ? championScoreDrift(
          served.champion,
          master.testRows,
          predictions,
          plan.range,
          window.rows,
          matured.rows.length > 0,
          params.drift.alpha,
        )
      : null;
  const costs = computeCosts(readContractLines(layout.stageRuns, StageRunSchema), predictions);

  // Alarms and the actions they ask for; a dry run reports what it would do and writes nothing.
  const evaluation = evaluatePolicy(
    policy,
    {
      drift: driftInputsOf(drift),
      champion: aliases.champion,
      challenger: aliases.challenger,
      previous: aliases.previous,
      championEvaluation: championEvaluationOf(layout, served.champion),
      recentOutcomes: recentOutcomes(outcomes, params.metrics.window_days),
    },
    readJson<MonitorState>(layout.monitorState, emptyState()),
  );
  const context = { ...opts, registry: layout.registry, run: evaluation.state.runs, ts };
  const execute = (a: PlannedAction) => executeAction(a, context);
  const actions = opts.dryRun
    ? evaluation.actions.map(execute)
    : runJournalled(layout, { run: context.run, ts, state: evaluation.state, planned: evaluation.actions }, execute);
  for (const a of actions) log(`action ${a.action} (${a.rule}): ${a.status}${a.detail ? ` — ${a.detail}` : ''}`);

  const summary: MonitorSummary = {
    drift: driftReport(ts, reference, master.lastDate, plan.kind, window, drift, score),
    ...performanceReports(ts, outcomes, fromFeedback.length, judged, params.metrics.window_days),
    costs: { generated_at: ts, ...costs },
    alarms: {
      generated_at: ts,
      run: evaluation.state.runs,
      dry_run: opts.dryRun,
      alarms: evaluation.alarms,
      actions,
      aliases: { ...readAliases(layout.registry) },
    },
    data: dataHealth(
      ts,
      readContract(layout.ingestManifest, IngestManifestSchema, null),
      seenGroupsOf(reference?.profile.columns.merchant_group),
      window.rows.map((r) => r.merchant_group),
      predictions
        .filter((p) => inWindow(plan, p.date))
        .map((p) => (p.features as Record<string, unknown> | undefined)?.merchant_group),
    ),
  };
  for (const w of summary.data.warnings) log(`WARNING: ${w}`);
  if (!opts.dryRun) writeMonitorReports(layout, summary);
  return summary;
}
