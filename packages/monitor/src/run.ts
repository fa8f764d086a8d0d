import { spawnSync } from 'node:child_process';
import {
  appendJsonl,
  dataLayout,
  listPartitions,
  loadParams,
  readContract,
  readContractLines,
  readJson,
  writeJsonAtomic,
  DEFAULT_FEATURE_PARAMS,
} from '@bolsillo/core';
import { loadModel, promote, readAliases, readCard, rollback, type LoadedModel } from '@bolsillo/model';
import {
  DecisionSchema,
  EvaluationMetricsSchema,
  FEATURE_NAMES,
  FeatureStoreManifestSchema,
  IngestManifestSchema,
  MasterManifestSchema,
  StageRunSchema,
  type Decision,
  type IngestManifestRecord,
  type KAnonymityRecord,
} from '@bolsillo/schema';
import { computeCosts, type CostReport } from './costs';
import { computeDrift, computeScoreDrift, type DriftResult, type ScoreDrift } from './drift';
import { maturedSnapshots, readOutcomeIndex } from './matured';
import {
  columnsOf,
  findMetric,
  readFeatureRows,
  readFeedback,
  readMasterSample,
  readPredictionLog,
  readReference,
} from './io';
import { driftParamsOf, MonitorParamsSchema, type MonitorParams } from './params';
import {
  computeModelMetrics,
  computeValue,
  daysBetween,
  type LabelledOutcome,
  type ValueMatrix,
  type ValuePoint,
  type VersionMetrics,
} from './performance';
import {
  emptyState,
  evaluatePolicy,
  PolicySchema,
  type AlarmStatus,
  type MonitorState,
  type PlannedAction,
  type Policy,
} from './policy';

/** Default cap of the window rows read (`window.max_rows`). */
export const DEFAULT_WINDOW_MAX_ROWS = 200_000;

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

/** `monitoring/report/drift.json`. */
export interface DriftReport {
  readonly generated_at: string;
  readonly reference: { readonly hash: string; readonly rows: number; readonly last_date: string | null } | null;
  readonly window: {
    readonly kind: 'new-partitions' | 'range' | 'latest-partitions' | 'none';
    readonly from: string | null;
    readonly to: string | null;
    readonly partitions: number;
    readonly rows: number;
    /** Rows drift and metrics were computed on: `rows`, or the seeded sample size above `window.max_rows`. */
    readonly sampled_rows?: number;
  };
  readonly result: DriftResult | null;
  readonly score: ScoreDrift | null;
}

/** `monitoring/report/data.json`: what the data itself needs someone to look at. */
export interface DataHealthReport {
  readonly generated_at: string;
  /** Source files ingest quarantined whole, with the reason (lake manifest). */
  readonly rejected_files: readonly { readonly file: string; readonly reason: string }[];
  /** k-anonymity per quasi-identifier set of the last ingest that parsed files (lake manifest); null before one. */
  readonly k_anonymity: KAnonymityRecord | null;
  /** Merchant groups absent from the reference master table: in the window's rows and in served predictions. */
  readonly unseen_merchant_groups: {
    readonly window: Readonly<Record<string, number>>;
    readonly served: Readonly<Record<string, number>>;
  };
  /** One line per problem; empty when there is none. */
  readonly warnings: readonly string[];
}

/** What a monitor run produced (also what the page renders). */
export interface MonitorSummary {
  readonly drift: DriftReport;
  readonly metrics: {
    readonly generated_at: string;
    readonly window_days: number;
    readonly labels: { readonly feedback: number; readonly computed: number };
    readonly versions: readonly VersionMetrics[];
  };
  readonly value: {
    readonly generated_at: string;
    readonly matrices: Readonly<Record<string, ValueMatrix>>;
    readonly points: readonly ValuePoint[];
  };
  readonly costs: CostReport & { readonly generated_at: string };
  readonly alarms: {
    readonly generated_at: string;
    readonly run: number;
    readonly dry_run: boolean;
    readonly alarms: readonly AlarmStatus[];
    readonly actions: readonly ActionRecord[];
    readonly aliases: Record<string, string | null>;
  };
  readonly data: DataHealthReport;
}

function seenGroupsOf(column: { kind: string } | undefined): ReadonlySet<string> | null {
  return column && column.kind === 'categorical' && 'frequencies' in column
    ? new Set(Object.keys(column.frequencies as Record<string, number>))
    : null;
}

function countUnseen(values: Iterable<unknown>, seen: ReadonlySet<string> | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!seen) return out;
  for (const v of values) if (typeof v === 'string' && !seen.has(v)) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** The data-health report (pure over what was read): rejected files, k-anonymity, unseen merchant groups. */
export function dataHealth(
  ts: string,
  lakeManifest: Pick<IngestManifestRecord, 'rejected' | 'k_anonymity'> | null,
  seenGroups: ReadonlySet<string> | null,
  windowGroups: Iterable<unknown>,
  servedGroups: Iterable<unknown>,
): DataHealthReport {
  const rejected = Object.entries(lakeManifest?.rejected ?? {}).map(([file, r]) => ({ file, reason: r.reason }));
  const k = lakeManifest?.k_anonymity ?? null;
  const unseen = { window: countUnseen(windowGroups, seenGroups), served: countUnseen(servedGroups, seenGroups) };
  const warnings = [
    ...rejected.map((r) => `file ${r.file} quarantined by ingest: ${r.reason}`),
    ...(k?.sets ?? [])
      .filter((s) => !s.ok)
      .map((s) => `k-anonymity ${s.k} over (${s.quasi_identifiers.join(', ')}) is below the minimum ${k!.min_k}`),
    ...Object.entries(unseen.window).map(
      ([g, n]) => `merchant group ${g} is not in the reference master table (${n} window rows)`,
    ),
    ...Object.entries(unseen.served)
      .filter(([g]) => !(g in unseen.window))
      .map(([g, n]) => `merchant group ${g} is not in the reference master table (${n} served predictions)`),
  ];
  return { generated_at: ts, rejected_files: rejected, k_anonymity: k, unseen_merchant_groups: unseen, warnings };
}

/** Params and policy files of the stage, validated. */
export function loadMonitorConfig(paramsFile: string, policyFile: string): { params: MonitorParams; policy: Policy } {
  return { params: loadParams(paramsFile, MonitorParamsSchema), policy: loadParams(policyFile, PolicySchema) };
}

/** A version's decision.json; null when evaluate has not written one, or when it is unreadable (logged). */
function decisionOf(file: string, log: (m: string) => void): Decision | null {
  try {
    return readContract(file, DecisionSchema, null);
  } catch (error) {
    log(`ignoring ${file}: ${(error as Error).message}`);
    return null;
  }
}

async function tryLoad(
  registry: string,
  version: string | null,
  log: (m: string) => void,
): Promise<LoadedModel | null> {
  if (!version) return null;
  try {
    return await loadModel(registry, version);
  } catch (error) {
    log(`cannot load model ${version}: ${(error as Error).message}`);
    return null;
  }
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
  const reference = readReference(layout);
  const master = reference
    ? await readMasterSample(reference.dir, params.metrics.score_reference_rows)
    : { lastDate: null, testRows: [] };
  const lastDate = master.lastDate;

  // The window: explicit range, else what arrived after the master table, else the latest partitions.
  let kind: DriftReport['window']['kind'];
  let range: { from?: string; to?: string };
  if (opts.from || opts.to) {
    kind = 'range';
    range = { from: opts.from, to: opts.to };
  } else {
    const all = listPartitions(layout.featureStore);
    const newer = lastDate ? all.filter((p) => p.date > lastDate!) : [];
    if (newer.length) {
      kind = 'new-partitions';
      range = { from: newer[0]!.date };
    } else if (all.length) {
      kind = 'latest-partitions';
      range = { from: all[Math.max(0, all.length - params.window.fallback_days)]!.date };
    } else {
      kind = 'none';
      range = {};
    }
  }
  const window =
    kind === 'none'
      ? { rows: [], dates: [], total: 0, sampled: 0 }
      : readFeatureRows(
          layout.featureStore,
          range,
          params.window.max_rows ?? DEFAULT_WINDOW_MAX_ROWS,
          params.window.seed ?? 17,
        );
  log(
    `window ${kind}: ${window.dates.length} partitions, ${window.total} rows${window.sampled < window.total ? ` (seeded sample of ${window.sampled})` : ''}${reference ? ` vs master ${reference.hash.slice(0, 12)}` : ' (no reference profile)'}`,
  );
  const featureNames = FEATURE_NAMES.filter((n) => reference?.profile.columns[n]);
  const driftResult =
    reference && window.rows.length
      ? computeDrift(
          reference.profile,
          columnsOf(window.rows, featureNames),
          driftParamsOf(params),
          window.rows.map((r) => String(r.customer_key)),
        )
      : null;

  // Registry: who serves, thresholds and value matrices.
  const aliases = readAliases(layout.registry);
  const champion = await tryLoad(layout.registry, aliases.champion, log);
  const challenger = await tryLoad(layout.registry, aliases.challenger, log);
  // The previous champion is scored too, so a rollback decision can be checked against what it would have done.
  const previous = await tryLoad(layout.registry, aliases.previous, log);

  // Labelled outcomes: feedback joined to the prediction log, and window days whose target is computable.
  const predictions = readPredictionLog(layout.predictionLog);
  const feedback = readFeedback(layout.feedbackLog);
  const outcomes: LabelledOutcome[] = [];
  for (const p of predictions) {
    const actual = feedback.get(p.request_id);
    if (actual !== undefined)
      outcomes.push({
        date: p.date,
        modelVersion: p.model_version,
        probability: p.probability,
        actual,
        source: 'feedback',
      });
  }
  const feedbackCount = outcomes.length;
  // Outcomes from the data itself: a window snapshot's label matures H days after it.
  const horizonDays = reference
    ? (readContract(layout.masterManifest(reference.hash), MasterManifestSchema, null)?.target.horizon_days ?? 7)
    : 7;
  const featureParams = {
    ...DEFAULT_FEATURE_PARAMS,
    ...readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params,
  };
  const rule = { threshold: featureParams.revengeThreshold, essential_groups: featureParams.essentialGroups };
  const matured = window.rows.length
    ? maturedSnapshots(window.rows, readOutcomeIndex(layout.featureStore, window.dates[0], rule), horizonDays)
    : { rows: [], actual: [], pending: 0 };
  const labelled = matured.rows;
  log(
    `labels: ${labelled.length} matured snapshots in the window, ${matured.pending} waiting for their ${horizonDays}-day horizon`,
  );
  for (const model of [champion, challenger, previous]) {
    if (!model || !labelled.length) continue;
    const scores = model.predict(labelled);
    labelled.forEach((r, i) =>
      outcomes.push({
        date: String(r.date),
        modelVersion: model.card.version,
        probability: scores[i]!,
        actual: matured.actual[i]!,
        source: 'computed',
      }),
    );
  }
  const versions = [...new Set(outcomes.map((o) => o.modelVersion))];
  const thresholds: Record<string, number> = {};
  const matrices: Record<string, ValueMatrix> = {};
  for (const v of versions) {
    const d = decisionOf(layout.modelDecision(v), log);
    if (d) matrices[v] = d.value_matrix;
    const loaded = [champion, challenger, previous].find((m) => m?.card.version === v) ?? null;
    thresholds[v] = loaded?.threshold ?? d?.threshold ?? readCardThreshold(layout.registry, v) ?? 0.5;
  }
  const versionMetrics = computeModelMetrics(outcomes, thresholds, params.metrics.window_days);
  const value = computeValue(outcomes, thresholds, matrices);

  // Score drift: champion scores on master test rows vs what it answered (or would answer) in the window.
  let score: ScoreDrift | null = null;
  if (champion && params.metrics.score_reference_rows > 0) {
    const refRows = master.testRows;
    const live = predictions
      .filter(
        (p) =>
          p.model_version === champion.card.version &&
          (!range.from || p.date >= range.from) &&
          (!range.to || p.date <= range.to),
      )
      .map((p) => p.probability);
    const current = live.length ? live : labelled.length ? Array.from(champion.predict(window.rows)) : [];
    if (refRows.length && current.length)
      score = computeScoreDrift(champion.predict(refRows), current, params.drift.alpha);
  }

  // Costs.
  const runs = readContractLines(layout.stageRuns, StageRunSchema);
  const costs = computeCosts(runs, predictions);

  // Alarms.
  const stateFile = layout.monitorState;
  const state = readJson<MonitorState>(stateFile, emptyState());
  const lastOutcomeDate = outcomes.reduce<string | null>((m, o) => (!m || o.date > m ? o.date : m), null);
  const recent = lastOutcomeDate
    ? outcomes.filter((o) => daysBetween(o.date, lastOutcomeDate) < params.metrics.window_days)
    : [];
  const championEvaluation: Partial<Record<'pr_auc' | 'roc_auc', number>> = {};
  if (champion) {
    const report = readContract(layout.reportMetrics(champion.card.version), EvaluationMetricsSchema, null);
    for (const m of ['pr_auc', 'roc_auc'] as const) {
      const v = findMetric(report, m) ?? findMetric(champion.card.metrics, m);
      if (v !== undefined) championEvaluation[m] = v;
    }
  }
  const evaluation = evaluatePolicy(
    policy,
    {
      drift: driftResult
        ? {
            rows: driftResult.rows,
            psiAboveCount: driftResult.psiAboveCount,
            shareDrifted: driftResult.shareDrifted,
            features: driftResult.features.length,
            driftedFeatures: driftResult.features.filter((f) => f.drifted).map((f) => f.feature),
          }
        : null,
      champion: aliases.champion,
      challenger: aliases.challenger,
      previous: aliases.previous,
      championEvaluation,
      recentOutcomes: recent,
    },
    state,
  );
  const actions: ActionRecord[] = evaluation.actions.map((a) =>
    executeAction(a, { ...opts, registry: layout.registry, run: evaluation.state.runs, ts }),
  );
  for (const a of actions) log(`action ${a.action} (${a.rule}): ${a.status}${a.detail ? ` — ${a.detail}` : ''}`);
  // A dry run reports what it would do and writes nothing (no state, actions, report or history).
  if (!opts.dryRun) {
    writeJsonAtomic(stateFile, evaluation.state);
    appendJsonl(layout.monitorActions, actions);
  }

  const summary: MonitorSummary = {
    drift: {
      generated_at: ts,
      reference: reference ? { hash: reference.hash, rows: reference.profile.rows, last_date: lastDate } : null,
      window: {
        kind,
        from: window.dates[0] ?? null,
        to: window.dates[window.dates.length - 1] ?? null,
        partitions: window.dates.length,
        rows: window.total,
        sampled_rows: window.sampled,
      },
      result: driftResult,
      score,
    },
    metrics: {
      generated_at: ts,
      window_days: params.metrics.window_days,
      labels: { feedback: feedbackCount, computed: outcomes.length - feedbackCount },
      versions: versionMetrics,
    },
    value: { generated_at: ts, matrices, points: value },
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
        .filter((p) => (!range.from || p.date >= range.from) && (!range.to || p.date <= range.to))
        .map((p) => (p.features as Record<string, unknown> | undefined)?.merchant_group),
    ),
  };
  for (const w of summary.data.warnings) log(`WARNING: ${w}`);
  if (opts.dryRun) return summary;
  writeJsonAtomic(layout.monitorDrift, summary.drift);
  writeJsonAtomic(layout.monitorMetrics, summary.metrics);
  writeJsonAtomic(layout.monitorValue, summary.value);
  writeJsonAtomic(layout.monitorCosts, summary.costs);
  writeJsonAtomic(layout.monitorAlarms, summary.alarms);
  writeJsonAtomic(layout.monitorDataHealth, summary.data);
  if (driftResult) {
    // Drift over time: one line per run, so the page can chart PSI per feature across runs.
    appendJsonl(layout.driftHistory, [
      {
        ts,
        window_from: summary.drift.window.from,
        window_to: summary.drift.window.to,
        rows: driftResult.rows,
        share_drifted: driftResult.shareDrifted,
        psi: Object.fromEntries(driftResult.features.map((f) => [f.feature, f.psi])),
      },
    ]);
  }
  return summary;
}

/** The card's threshold of a version no alias serves; undefined when the version is not (readably) registered. */
function readCardThreshold(registry: string, version: string): number | undefined {
  try {
    return readCard(registry, version).threshold;
  } catch {
    return undefined;
  }
}

/**
 * Carry out one planned action the way a person would: registry `rollback` / `promote` through
 * core, retrain as the pipeline command in a child process with the same DATA_DIR.
 */
function executeAction(
  a: PlannedAction,
  ctx: MonitorOptions & { registry: string; run: number; ts: string },
): ActionRecord {
  const base = { ts: ctx.ts, run: ctx.run, rule: a.rule, action: a.action, version: a.version, reason: a.reason };
  if (ctx.dryRun) return { ...base, status: 'dry-run', detail: 'dry run: nothing changed' };
  try {
    if (a.action === 'rollback') {
      const after = rollback(ctx.registry, `monitor: ${a.reason}`);
      return { ...base, version: after.champion, status: 'executed', detail: `champion is now ${after.champion}` };
    }
    if (a.action === 'promote') {
      if (!a.version) return { ...base, status: 'skipped', detail: 'no challenger to promote' };
      const after = promote(ctx.registry, a.version, `monitor: ${a.reason}`);
      return { ...base, status: 'executed', detail: `champion is now ${after.champion}, previous ${after.previous}` };
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
