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
  listVersions,
  loadModel,
  loadParams,
  modelDir,
  promote,
  readAliases,
  readCard,
  readJson,
  readParquetFile,
  rollback,
  rowsFromTable,
  writeDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
  type LoadedModel,
} from '@bolsillo/core';
import { TARGET, type Aliases, type ModelCard } from '@bolsillo/schema';
import { priorBaseline, ruleBaseline, type Scorer } from './baselines';
import { evaluateCandidate, type Contender, type EvalSplit, type Evaluation } from './evaluation';
import type { Verdict } from './gate';
import { learningCurve, learningCurveFromCard } from './learning-curve';
import { EvaluateParamsSchema, type EvaluateParams, type MetricName } from './params';
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
  const real = cards.filter((c) => !BASELINE_FAMILIES.has(c.family));
  const pick = real[real.length - 1] ?? cards[cards.length - 1];
  if (!pick) throw new Error('evaluate: the registry holds no model versions (run train first)');
  return pick;
}

function readMaster(dataDir: string, hash: string): Row[] {
  const layout = dataLayout(dataDir);
  let file = path.join(layout.master, hash, 'master.parquet');
  if (!fs.existsSync(file)) {
    const latest = readJson<{ hash?: string }>(path.join(layout.master, 'latest.json'), {});
    if (!latest.hash) throw new Error(`evaluate: master table ${hash} not found and no master/latest.json`);
    file = path.join(layout.master, latest.hash, 'master.parquet');
  }
  if (!fs.existsSync(file)) throw new Error(`evaluate: ${file} not found (run build first)`);
  return rowsFromTable<Row>(readParquetFile(file));
}

const labelsOf = (rows: readonly Row[]) => Float64Array.from(rows, (r) => (r[TARGET] ? 1 : 0));

function scorerFromModel(model: LoadedModel): Scorer {
  return { name: model.card.family, description: `registered ${model.card.family} model ${model.card.version}`, score: (rows) => model.predict(rows) };
}

/**
 * Evaluate one version end to end and run the gate.
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

  const rows = readMaster(opts.dataDir, card.master_hash);
  const bySplit = (s: string) => rows.filter((r) => r.split === s);
  const train = bySplit('train');
  const calibration = bySplit('calibration');
  const split: Record<EvalSplit, Row[]> = { test: bySplit('test'), holdout: bySplit('holdout') };
  const thresholdSplit = params.threshold.split === 'calibration' && calibration.length > 0 ? 'calibration' : 'test';
  const thresholdRows = thresholdSplit === 'calibration' ? calibration : split.test;
  if (split.test.length === 0) throw new Error('evaluate: the master table has no test rows');
  log(`master rows ${rows.length}: train ${train.length}, calibration ${calibration.length}, test ${split.test.length}, holdout ${split.holdout.length}`);

  const contender = (id: string, label: string, role: Contender['role'], v: string | null, s: Scorer, fixedThreshold?: number): Contender => ({
    id,
    label,
    role,
    version: v,
    description: s.description,
    scores: { threshold: s.score(thresholdRows), test: s.score(split.test), holdout: s.score(split.holdout) },
    ...(fixedThreshold !== undefined ? { fixedThreshold } : {}),
  });

  const model = await loadModel(registry, version);
  const contenders: Contender[] = [contender('candidate', `${card.family} ${version}`, 'candidate', version, scorerFromModel(model))];

  const aliases = readAliases(registry);
  let championModel: LoadedModel | null = null;
  if (aliases.champion && aliases.champion !== version && cards.some((c) => c.version === aliases.champion)) {
    championModel = await loadModel(registry, aliases.champion);
    contenders.push(contender('champion', `${championModel.card.family} ${aliases.champion}`, 'champion', aliases.champion, scorerFromModel(championModel), championModel.threshold));
  }

  for (const family of ['prior', 'rule'] as const) {
    // A registered baseline counts only when trained on the same master table: otherwise its prevalence/rule came from other data.
    const reg = [...cards].reverse().find((c) => c.family === family && c.version !== version && c.master_hash === card.master_hash);
    if (reg) {
      contenders.push(contender(family, `${family} baseline`, 'baseline', reg.version, scorerFromModel(await loadModel(registry, reg.version))));
    } else {
      const s = family === 'prior' ? priorBaseline(train, TARGET) : ruleBaseline(train, TARGET, params.rule_baseline);
      contenders.push(contender(family, `${family} baseline (computed)`, 'baseline', null, s));
    }
  }

  const validation = calibration.length ? calibration : split.test;
  const learning =
    learningCurveFromCard(card.cv) ??
    learningCurve(train, validation, card.features, TARGET, { ...params.learning_curve, seed: params.seed });
  log(`learning curve: ${learning.length} points`);

  const labels = { threshold: labelsOf(thresholdRows), thresholdSplit, test: labelsOf(split.test), holdout: labelsOf(split.holdout) };
  const ev = evaluateCandidate(version, labels, contenders, learning, params);
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
    writeJsonAtomic(path.join(tmp, 'metrics.json'), metricsFile(final, generatedAt));
    writeJsonAtomic(path.join(tmp, 'verdict.json'), { ...verdict, decided_at: generatedAt });
    writeFileAtomic(path.join(tmp, 'report.html'), renderReport(final, card, after, { confidence: params.bootstrap.confidence, generatedAt }));
  });
  writeIndex(opts.dataDir);
  if (promoteError) throw new Error(`evaluate: gate passed but promotion failed: ${promoteError}`);
  return { version, rowsIn: rows.length, rowsOut: split.test.length + split.holdout.length, verdict, aliases: after, reportDir };
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
