/**
 * The I/O adapter of the evaluate stage: pick the candidate, plan and load its contenders, score
 * the master table in one streamed pass, evaluate (pure), then write the decisions, move the
 * champion alias through the registry's audited promote, and write the report folder and the index.
 */
import {
  cleanTemporaries,
  dataLayout,
  loadParams,
  memoryNote,
  packageFile,
  readContract,
  readParquetRowCount,
} from '@bolsillo/core';
import { appendAudit, listVersions, promote, readAliases, readCard, rollback } from '@bolsillo/model';
import { GateVerdictSchema, type Aliases, type ModelCard } from '@bolsillo/schema';
import { contendersOf, loadContenders, pickCandidate, planContenders } from './contenders';
import { BootstrapWorker } from './bootstrap-worker';
import {
  EVAL_SPLITS,
  contenderThresholds,
  evaluateCandidate,
  gateDeltas,
  splitBootstrap,
  type EvalSplit,
} from './evaluation';
import { promoteServed, promotionTarget, writeDecisions, writeIndex, writeReport } from './evaluate-outputs';
import type { Verdict } from './gate';
import type { MetricSet } from './metrics';
import { candidateLearningCurve, learningCurveModel } from './learning-curve';
import { EvaluateParamsSchema, type EvaluateParams } from './params';
import {
  clearPromotion,
  donePromotion,
  evaluationKey,
  recordPromotion,
  type PromotionRecord,
} from './promotion-record';
import {
  canScore,
  openMaster,
  scoreMaster,
  splitLabelsOf,
  thresholdSplitOf,
  type MasterSource,
  type NumberColumn,
  type Scored,
  type ScoredMaster,
} from './score-master';

/** Default params file, relative to the workspace root (the CLI's working directory). */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');

/** Options of {@link runEvaluate}. */
export interface RunEvaluateOptions {
  readonly dataDir: string;
  /** Version to evaluate; default the newest non-baseline version. */
  readonly version?: string;
  /** Params object (tests) or file; default {@link DEFAULT_PARAMS_FILE}. */
  readonly params?: EvaluateParams;
  readonly paramsFile?: string;
  /** Evaluate and write the report, but never change aliases. */
  readonly noPromote?: boolean;
  /**
   * Bootstrap the test and holdout splits on a worker thread while this one refits the learning
   * curve and bootstraps the gate's deltas (same results either way). Default: when the master table
   * has at least {@link BOOTSTRAP_THREAD_MIN_ROWS} rows.
   */
  readonly bootstrapThread?: boolean;
  readonly log?: (message: string) => void;
}

/** What {@link runEvaluate} returns. */
export interface RunEvaluateResult {
  readonly version: string;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly verdict: Verdict;
  readonly aliases: Aliases;
  readonly reportDir: string;
}

/**
 * Evaluate one version end to end and run the gate.
 *
 * The master table is streamed batch by batch with only the feature, target and split columns:
 * evaluation rows are scored per batch (no whole-table row objects), and the learning curve refits
 * on seeded reservoir samples of at most `learning_curve.max_rows` rows (recorded in `metrics.json`
 * under `samples`).
 *
 * @example await runEvaluate({ dataDir: '/tmp/dev-evaluate' })
 */
export async function runEvaluate(opts: RunEvaluateOptions): Promise<RunEvaluateResult> {
  cleanReportTemporaries(opts.dataDir);
  const run = await openEvaluation(opts);
  // Started before the master pass, so the thread has loaded its code by the time it is needed.
  const worker = await startBootstrapWorker(run, opts);
  try {
    return await finishEvaluation(
      run,
      await scoreMaster(run.master, run.models, run.params, run.card.features),
      opts,
      worker,
    );
  } finally {
    await worker?.close();
  }
}

/**
 * Remove what a run killed mid-write left under `reports/` (a `.<version>.tmp-…` report folder, a
 * file's temporary, a shard's staging folder). For a whole run and the merge, at their start: no shard
 * writes then.
 */
export function cleanReportTemporaries(dataDir: string): number {
  return cleanTemporaries(dataLayout(dataDir).reports);
}

/** Master rows from which the bootstrap gets its own thread by default (below, starting it costs more than it saves). */
export const BOOTSTRAP_THREAD_MIN_ROWS = 100_000;

/** The bootstrap thread when `opts.bootstrapThread` asks for one (default: a master table of at least {@link BOOTSTRAP_THREAD_MIN_ROWS} rows). */
export async function startBootstrapWorker(
  run: OpenEvaluation,
  opts: RunEvaluateOptions,
): Promise<BootstrapWorker | null> {
  const wanted = opts.bootstrapThread ?? (await readParquetRowCount(run.master.file)) >= BOOTSTRAP_THREAD_MIN_ROWS;
  return wanted ? new BootstrapWorker() : null;
}

/** A candidate ready to be scored: its master table, its contenders loaded, the registry's aliases. */
export interface OpenEvaluation {
  readonly params: EvaluateParams;
  readonly layout: ReturnType<typeof dataLayout>;
  readonly card: ModelCard;
  readonly master: MasterSource;
  /** The aliases the evaluation runs against: the registry's, or those a killed run of it saw ({@link resumed}). */
  readonly aliases: Aliases;
  readonly models: Awaited<ReturnType<typeof loadContenders>>;
  readonly log: (message: string) => void;
  /** The promotion a run of this evaluation made before it was killed, before its report; else null. */
  readonly resumed: PromotionRecord | null;
}

/** Pick the candidate, open its master table, plan and load its contenders. */
export async function openEvaluation(opts: RunEvaluateOptions): Promise<OpenEvaluation> {
  const log = opts.log ?? (() => undefined);
  const params = opts.params ?? loadParams(opts.paramsFile ?? DEFAULT_PARAMS_FILE, EvaluateParamsSchema);
  const layout = dataLayout(opts.dataDir);
  const cards = listVersions(layout.registry);
  const card = pickCandidate(cards, opts.version);
  log(`candidate ${card.version} (${card.family}, master ${card.master_hash})`);

  const master = await openMaster(opts.dataDir, card.master_hash);
  const current = readAliases(layout.registry);
  // A run of this evaluation killed after it moved the champion alias: the same contenders, gate and report.
  const resumed = donePromotion(layout, card, params, current);
  if (resumed)
    log(
      `champion ${resumed.promote} was set by a run of this evaluation stopped before its report: evaluating against the aliases it saw (champion ${resumed.aliases.champion ?? 'none'})`,
    );
  const aliases = resumed?.aliases ?? current;
  const plan = planContenders(card, cards, aliases, (c) => canScore(master, c));
  for (const note of plan.notes) log(note);
  const models = await loadContenders(layout.registry, plan.contenders);
  return { params, layout, card, master, aliases, models, log, resumed };
}

/**
 * Everything after scoring: threshold, metrics, learning curve, gate, decisions, promotion, report and
 * index, from the scored master table (one pass, or the shards' scores merged).
 */
export async function finishEvaluation(
  run: OpenEvaluation,
  scored: ScoredMaster,
  opts: RunEvaluateOptions,
  worker: BootstrapWorker | null = null,
): Promise<RunEvaluateResult> {
  const { params, layout, card, aliases, models, log } = run;
  const count = (s: Scored) => scored.labels[s].length;
  if (count('test') === 0) throw new Error('evaluate: the master table has no test rows');
  const thresholdSplit = thresholdSplitOf(params, scored);
  log(
    `master rows ${scored.total}: train ${scored.trainRows}, calibration ${count('calibration')}, test ${count('test')}, holdout ${count('holdout')}; ${scored.customers} customers outside train`,
  );
  const labels = splitLabelsOf(scored, thresholdSplit);
  const contenders = contendersOf(models, scored, thresholdSplit);
  const thresholds = contenderThresholds(labels, contenders, params);
  log(`thresholds chosen on ${thresholdSplit} (${memoryNote()})`);
  // The test and holdout bootstraps on the worker thread (when there is one) while this thread
  // refits the learning curve and bootstraps the gate's deltas.
  const offloaded = worker
    ? EVAL_SPLITS.map((s) => {
        const b = splitBootstrap(labels, contenders, thresholds, params, s);
        // Views of the pass's columns, on shared memory (Growable): the message shares them, no copy.
        return worker.evaluate({
          y: b.y as NumberColumn,
          scores: b.models.map((m) => m.scores as NumberColumn),
          thresholds: b.models.map((m) => m.threshold),
          options: { ...b.options, groups: b.options.groups as NumberColumn },
        });
      })
    : null;
  const learning = candidateLearningCurve(card, scored, params);
  log(
    `learning curve: ${learning.points.length} points${learning.fromCard ? ' (from the card)' : ` on ${scored.samples.train.items.length} of ${scored.trainRows} train rows`} (${memoryNote()})`,
  );
  const deltas = gateDeltas(labels, contenders, thresholds, params);
  log(`gate deltas on ${params.gate.split} (${memoryNote()})`);
  const splits = offloaded
    ? (Object.fromEntries(await Promise.all(EVAL_SPLITS.map(async (s, k) => [s, await offloaded[k]!]))) as Record<
        EvalSplit,
        MetricSet[]
      >)
    : undefined;

  const ev = evaluateCandidate(
    card.version,
    labels,
    contenders,
    learning.points,
    params,
    learningCurveModel(card.family, learning.fromCard),
    { thresholds, deltas, ...(splits ? { splits } : {}) },
  );
  log(
    `threshold ${ev.decision.threshold.toFixed(4)} (${ev.decision.objective} on ${thresholdSplit}); gate: ${ev.verdict.decision} (${memoryNote()})`,
  );

  writeDecisions(layout, ev);
  // Recorded before the alias moves: a run killed before its report is rerun against the same aliases.
  const target = promotionTarget(ev.verdict, opts.noPromote === true);
  if (target)
    recordPromotion(layout, {
      version: 1,
      run: evaluationKey(card, params),
      candidate: card.version,
      aliases,
      promote: target,
    });
  const promotion = promoteServed(
    layout.registry,
    ev.verdict,
    aliases,
    opts.noPromote === true,
    log,
    target !== null && run.resumed?.promote === target,
  );
  const reportDir = await writeReport(
    layout,
    { ...ev, verdict: promotion.verdict },
    card,
    promotion.aliases,
    params,
    learning.samples,
    new Date().toISOString(),
  );
  writeIndex(opts.dataDir);
  clearPromotion(layout);
  if (promotion.error) throw new Error(`evaluate: gate passed but promotion failed: ${promotion.error}`);
  return {
    version: card.version,
    rowsIn: scored.total,
    rowsOut: count('test') + count('holdout'),
    verdict: promotion.verdict,
    aliases: promotion.aliases,
    reportDir,
  };
}

/** Roll the champion back to `previous` (audited by the registry) and refresh the index. */
export function runRollback(dataDir: string, reason: string): Aliases {
  if (!reason?.trim()) throw new Error('rollback: --reason is required');
  const aliases = rollback(dataLayout(dataDir).registry, reason);
  writeIndex(dataDir);
  return aliases;
}

/**
 * Promote a version regardless of the gate. Needs a reason; the override is audited as its own
 * entry (with the gate verdict it overrides, if any) before the registry's promote entry.
 */
export function runForcePromote(dataDir: string, version: string, reason: string): Aliases {
  if (!reason?.trim()) throw new Error('force-promote: --reason is required');
  const layout = dataLayout(dataDir);
  readCard(layout.registry, version);
  const verdict = readContract(layout.reportVerdict(version), GateVerdictSchema, null);
  appendAudit(layout.registry, {
    action: 'force-promote',
    version,
    reason,
    forced: true,
    gate_decision: verdict?.decision ?? 'not evaluated',
    actor: process.env.USER ?? 'unknown',
  });
  const aliases = promote(layout.registry, version, `forced promotion: ${reason}`);
  writeIndex(dataDir);
  return aliases;
}
