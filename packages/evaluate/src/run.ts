/**
 * The I/O adapter of the evaluate stage: reads the registry and the master table, calls the pure
 * evaluation, writes the decision, the report folder and the index, and runs the gate through the
 * registry's own promote/rollback (atomic, audited).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  appendAudit,
  dataLayout,
  forEachParquetBatch,
  readParquetColumnNames,
  listVersions,
  loadModel,
  loadParams,
  modelDir,
  promote,
  readAliases,
  readCard,
  readJson,
  rollback,
  seededRandom,
  rowsFromTable,
  writeDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
  type LoadedModel,
} from '@bolsillo/core';
import { FEATURE_NAMES, TARGET, type Aliases, type ModelCard } from '@bolsillo/schema';
import { BaselineFit, ruleHit } from './baselines';
import { evaluateCandidate, type Contender, type Evaluation } from './evaluation';
import type { Verdict } from './gate';
import { learningCurve, learningCurveFromCard } from './learning-curve';
import { DEFAULT_LEARNING_CURVE_MAX_ROWS, EvaluateParamsSchema, type EvaluateParams, type MetricName } from './params';
import { renderIndex, renderReport, type IndexEntry } from './report';

type Row = Record<string, unknown>;

/** Families that are baselines, not candidates for the newest-version default. */
const BASELINE_FAMILIES = new Set(['prior', 'rule']);

/** Default params file, relative to the workspace root (the CLI's working directory). */
export const DEFAULT_PARAMS_FILE = path.join('packages', 'evaluate', 'params.json');

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

/** Pick the version to evaluate: the requested one, else the newest non-baseline (else newest). */
export function pickCandidate(cards: readonly ModelCard[], requested?: string): ModelCard {
  if (requested) {
    const c = cards.find((x) => x.version === requested);
    if (!c) throw new Error(`evaluate: version ${requested} is not in the registry`);
    return c;
  }
  const real = cards.filter((c) => c.role !== 'baseline' && !BASELINE_FAMILIES.has(c.family));
  const pick = real[real.length - 1] ?? cards[cards.length - 1];
  if (!pick) throw new Error('evaluate: the registry holds no model versions (run train first)');
  return pick;
}

function masterFile(dataDir: string, hash: string): string {
  const layout = dataLayout(dataDir);
  let file = path.join(layout.master, hash, 'master.parquet');
  if (!fs.existsSync(file)) {
    const latest = readJson<{ hash?: string }>(path.join(layout.master, 'latest.json'), {});
    if (!latest.hash) throw new Error(`evaluate: master table ${hash} not found and no master/latest.json`);
    file = path.join(layout.master, latest.hash, 'master.parquet');
  }
  if (!fs.existsSync(file)) throw new Error(`evaluate: ${file} not found (run build first)`);
  return file;
}

/** A growable Float64 column (scores and labels of one split, appended batch by batch). */
class Growable {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  pushAll(vs: ArrayLike<number>): void {
    for (let i = 0; i < vs.length; i++) this.push(vs[i]!);
  }
  values(): Float64Array {
    return this.buf.slice(0, this.length);
  }
}

/** Seeded reservoir sample (Algorithm R): a uniform sample of at most `cap` items of a stream of unknown length. */
export class Reservoir<T> {
  readonly items: T[] = [];
  seen = 0;
  private readonly rand: () => number;
  constructor(
    readonly cap: number,
    seed: number,
  ) {
    this.rand = seededRandom(seed);
  }
  offer(item: T): void {
    this.seen++;
    if (this.items.length < this.cap) this.items.push(item);
    else {
      const j = Math.floor(this.rand() * this.seen);
      if (j < this.cap) this.items[j] = item;
    }
  }
}

/** Splits whose rows are scored: the threshold split (calibration, or test) and the evaluation splits. */
const SCORED = ['calibration', 'test', 'holdout'] as const;
type Scored = (typeof SCORED)[number];

/** Rows per batch of the master stream: bounds the row objects alive at once. */
const BATCH_ROWS = 32_768;

/**
 * Evaluate one version end to end and run the gate.
 *
 * The master table is streamed batch by batch with only the feature, target and split columns:
 * evaluation rows are scored per batch (no whole-table row objects), the fallback baselines are
 * fitted on train rows as they pass, and the learning curve refits on seeded reservoir samples of
 * at most `learning_curve.max_rows` rows (recorded in `metrics.json` under `samples`).
 *
 * @example await runEvaluate({ dataDir: '/tmp/dev-evaluate' })
 */
export async function runEvaluate(opts: RunEvaluateOptions): Promise<RunEvaluateResult> {
  const log = opts.log ?? (() => undefined);
  const params = opts.params ?? loadParams(opts.paramsFile ?? DEFAULT_PARAMS_FILE, EvaluateParamsSchema);
  const layout = dataLayout(opts.dataDir);
  const registry = layout.registry;
  const cards = listVersions(registry);
  const card = pickCandidate(cards, opts.version);
  const version = card.version;
  log(`candidate ${version} (${card.family}, master ${card.master_hash})`);

  // Every model that scores rows: candidate, champion, registered baselines trained on the same master.
  const models: { id: string; label: string; role: Contender['role']; version: string | null; description: string; model: LoadedModel; fixedThreshold?: number }[] = [];
  const model = await loadModel(registry, version);
  models.push({ id: 'candidate', label: `${card.family} ${version}`, role: 'candidate', version, description: `registered ${card.family} model ${version}`, model });
  const aliases = readAliases(registry);
  if (aliases.champion && aliases.champion !== version && cards.some((c) => c.version === aliases.champion)) {
    const champ = await loadModel(registry, aliases.champion);
    models.push({ id: 'champion', label: `${champ.card.family} ${aliases.champion}`, role: 'champion', version: aliases.champion, description: `registered ${champ.card.family} model ${aliases.champion}`, model: champ, fixedThreshold: champ.threshold });
  }
  const computed: ('prior' | 'rule')[] = [];
  for (const family of ['prior', 'rule'] as const) {
    // A registered baseline counts only when trained on the same master table: otherwise its prevalence/rule came from other data.
    const reg = [...cards].reverse().find((c) => c.family === family && c.version !== version && c.master_hash === card.master_hash);
    if (reg) {
      const m = await loadModel(registry, reg.version);
      models.push({ id: family, label: `${family} baseline`, role: 'baseline', version: reg.version, description: `registered ${m.card.family} model ${reg.version}`, model: m });
    } else computed.push(family);
  }

  const file = masterFile(opts.dataDir, card.master_hash);
  const lcCap = params.learning_curve.max_rows ?? DEFAULT_LEARNING_CURVE_MAX_ROWS;
  const fit = new BaselineFit(TARGET, params.rule_baseline);
  const trainSample = new Reservoir<Row>(lcCap, params.seed + 101);
  const valSample: Record<'calibration' | 'test', Reservoir<Row>> = { calibration: new Reservoir<Row>(lcCap, params.seed + 102), test: new Reservoir<Row>(lcCap, params.seed + 103) };
  const labels = Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>;
  const hits = Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>;
  const scores = Object.fromEntries(models.map((m) => [m.id, Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>]));
  let total = 0;
  let trainRows = 0;
  const wanted = new Set<string>([...FEATURE_NAMES, TARGET, 'split']);
  // Project to the columns any model can use; ids, keys and folds are never needed here.
  const columns = (await readParquetColumnNames(file)).filter((n) => wanted.has(n));
  await forEachParquetBatch(file, { columns, batchSize: BATCH_ROWS }, (table) => {
    const rows = rowsFromTable<Row>(table);
    total += rows.length;
    const bySplit: Record<Scored, Row[]> = { calibration: [], test: [], holdout: [] };
    for (const r of rows) {
      const s = r.split as string;
      if (s === 'train') {
        trainRows++;
        fit.observe(r);
        trainSample.offer(r);
      } else if (s === 'calibration' || s === 'test' || s === 'holdout') {
        bySplit[s].push(r);
        if (s !== 'holdout') valSample[s].offer(r);
      }
    }
    for (const s of SCORED) {
      const part = bySplit[s];
      if (!part.length) continue;
      for (const r of part) {
        labels[s].push(r[TARGET] ? 1 : 0);
        hits[s].push(ruleHit(r, params.rule_baseline) ? 1 : 0);
      }
      for (const m of models) scores[m.id]![s].pushAll(m.model.predict(part));
    }
  });
  const count = (s: Scored) => labels[s].length;
  const thresholdSplit: Scored = params.threshold.split === 'calibration' && count('calibration') > 0 ? 'calibration' : 'test';
  if (count('test') === 0) throw new Error('evaluate: the master table has no test rows');
  log(`master rows ${total}: train ${trainRows}, calibration ${count('calibration')}, test ${count('test')}, holdout ${count('holdout')}`);

  const contenders: Contender[] = models.map((m) => ({
    id: m.id,
    label: m.label,
    role: m.role,
    version: m.version,
    description: m.description,
    scores: { threshold: scores[m.id]![thresholdSplit].values(), test: scores[m.id]!.test.values(), holdout: scores[m.id]!.holdout.values() },
    ...(m.fixedThreshold !== undefined ? { fixedThreshold: m.fixedThreshold } : {}),
  }));
  // Keep the contender order of the report: candidate, champion, prior, rule.
  for (const family of computed) {
    const scorer = family === 'prior' ? fit.prior() : fit.ruleScorer();
    const { pHit, pMiss } = fit.ruleRates();
    const rate = fit.priorRate();
    const scoreOf = (s: Scored) => (family === 'prior' ? new Float64Array(count(s)).fill(rate) : hits[s].values().map((h) => (h ? pHit : pMiss)));
    contenders.push({
      id: family,
      label: `${family} baseline (computed)`,
      role: 'baseline',
      version: null,
      description: scorer.description,
      scores: { threshold: scoreOf(thresholdSplit), test: scoreOf('test'), holdout: scoreOf('holdout') },
    });
  }
  const order = ['candidate', 'champion', 'prior', 'rule'];
  contenders.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));

  const validation = valSample.calibration.seen ? valSample.calibration : valSample.test;
  const fromCard = learningCurveFromCard(card.cv);
  const learning = fromCard ?? learningCurve(trainSample.items, validation.items, card.features, TARGET, { ...params.learning_curve, seed: params.seed });
  const samples = {
    learning_curve: fromCard
      ? { source: 'card' as const }
      : { source: 'refit' as const, seed: params.seed, train_rows: trainSample.items.length, train_total: trainRows, validation_rows: validation.items.length, validation_total: validation.seen, cap: lcCap },
    bootstrap: { max_rows: params.bootstrap.max_rows ?? null },
  };
  log(`learning curve: ${learning.length} points${fromCard ? ' (from the card)' : ` on ${trainSample.items.length} of ${trainRows} train rows`}`);

  const splitLabels = { threshold: labels[thresholdSplit].values(), thresholdSplit, test: labels.test.values(), holdout: labels.holdout.values() };
  const ev = evaluateCandidate(version, splitLabels, contenders, learning, params);
  log(`threshold ${ev.decision.threshold.toFixed(4)} (${ev.decision.objective} on ${thresholdSplit}); gate: ${ev.verdict.decision}`);

  writeJsonAtomic(path.join(modelDir(registry, version), 'decision.json'), ev.decision);

  let after = aliases;
  let promoted = false;
  let promoteError: string | null = null;
  if (ev.verdict.promote && !opts.noPromote) {
    try {
      after = promote(registry, version, `gate passed: ${ev.verdict.reasons.slice(1).join('; ')}`);
      promoted = true;
      log(`promoted ${version} to champion (previous: ${after.previous ?? 'none'})`);
    } catch (error) {
      promoteError = (error as Error).message;
    }
  }
  const verdict: Verdict = {
    ...ev.verdict,
    promoted,
    ...(promoteError ? { reasons: [...ev.verdict.reasons, `promotion failed: ${promoteError}`] } : {}),
    ...(opts.noPromote && ev.verdict.promote ? { reasons: [...ev.verdict.reasons, 'promotion skipped (--no-promote)'] } : {}),
  };
  const final: Evaluation = { ...ev, verdict };
  const reportDir = path.join(layout.reports, version);
  const generatedAt = new Date().toISOString();
  await writeDirAtomic(reportDir, (tmp) => {
    for (const [name, svg] of Object.entries(final.plots)) writeFileAtomic(path.join(tmp, name), svg);
    writeJsonAtomic(path.join(tmp, 'metrics.json'), { ...metricsFile(final, generatedAt), samples });
    writeJsonAtomic(path.join(tmp, 'verdict.json'), { ...verdict, decided_at: generatedAt });
    writeFileAtomic(path.join(tmp, 'report.html'), renderReport(final, card, after, { confidence: params.bootstrap.confidence, generatedAt }));
  });
  writeIndex(opts.dataDir);
  if (promoteError) throw new Error(`evaluate: gate passed but promotion failed: ${promoteError}`);
  return { version, rowsIn: total, rowsOut: count('test') + count('holdout'), verdict, aliases: after, reportDir };
}

function metricsFile(ev: Evaluation, generatedAt: string): Record<string, unknown> {
  const { plots, ...rest } = ev;
  return { ...rest, plots: Object.keys(plots), generated_at: generatedAt };
}

/** Rebuild `reports/index.html` from the registry, the aliases and each version's metrics.json. */
export function writeIndex(dataDir: string): string {
  const layout = dataLayout(dataDir);
  const aliases = readAliases(layout.registry);
  const entries: IndexEntry[] = listVersions(layout.registry).map((card) => {
    const m = readJson<{ contenders?: { role: string; threshold: number; splits: Record<string, { metrics: Record<MetricName, { value: number }> }> }[]; verdict?: Verdict } | null>(
      path.join(layout.reports, card.version, 'metrics.json'),
      null,
    );
    const cand = m?.contenders?.find((c) => c.role === 'candidate');
    const flat = (s: string) => Object.fromEntries(Object.entries(cand?.splits[s]?.metrics ?? {}).map(([k, e]) => [k, e.value])) as Partial<Record<MetricName, number>>;
    return {
      card,
      evaluated: cand ? { test: flat('test'), holdout: flat('holdout'), threshold: cand.threshold, decision: m?.verdict ? `${m.verdict.decision}${m.verdict.promoted ? ' (promoted)' : ''}` : '' } : null,
    };
  });
  const file = path.join(layout.reports, 'index.html');
  writeFileAtomic(file, renderIndex(entries, aliases, new Date().toISOString()));
  return file;
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
  const verdict = readJson<Verdict | null>(path.join(layout.reports, version, 'verdict.json'), null);
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
