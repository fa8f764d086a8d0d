/**
 * The I/O adapter of the evaluate stage: reads the registry and the master table, calls the pure
 * evaluation, writes the decision, the report folder and the index, and runs the gate through the
 * registry's own promote/rollback (atomic, audited).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  forEachParquetBatch,
  readParquetColumnNames,
  loadParams,
  packageFile,
  readContract,
  seededRandom,
  rowsFromTable,
  writeContract,
  writeDirAtomic,
  writeFileAtomic,
} from '@bolsillo/core';
import {
  appendAudit,
  listVersions,
  loadModel,
  promote,
  readAliases,
  readCard,
  rollback,
  type LoadedModel,
} from '@bolsillo/model';
import {
  BASELINE_KINDS,
  DecisionSchema,
  EvaluationMetricsSchema,
  FEATURE_NAMES,
  GateVerdictSchema,
  MasterLatestSchema,
  TARGET,
  type Aliases,
  type EvaluationMetrics,
  type GateVerdict,
  type ModelCard,
} from '@bolsillo/schema';
import { evaluateCandidate, type Contender, type Evaluation } from './evaluation';
import type { Verdict } from './gate';
import { learningCurve, learningCurveFromCard } from './learning-curve';
import { DEFAULT_LEARNING_CURVE_MAX_ROWS, EvaluateParamsSchema, type EvaluateParams, type MetricName } from './params';
import { renderIndex, renderModelReport, type IndexEntry } from './report';

type Row = Record<string, unknown>;

/**
 * What the learning curve shows, named after the model it actually fits: the card's own curve
 * (train refitted the candidate's family), or evaluate's refit, a logistic regression, which for
 * another family is a stand-in that says whether more data would help a model on these features.
 */
export function learningCurveModel(family: string, fromCard: boolean): string {
  if (fromCard) return `${family} refitted by train`;
  return family === 'logistic' ? 'logistic regression, refitted' : `logistic stand-in for the ${family} model`;
}

/** What a registered baseline does, from its card: the prior's rate, or a scorer's feature, direction and threshold. */
export function baselineDescription(c: ModelCard): string {
  const p = c.params as {
    probability?: number;
    feature?: string;
    direction?: string;
    threshold?: number | null;
    all?: { feature: string; op: string; value: unknown }[];
  };
  const what =
    c.family === 'prior'
      ? `constant train prevalence ${(p.probability ?? NaN).toFixed(4)}`
      : c.family === 'feature'
        ? p.threshold === null || p.threshold === undefined
          ? `graded: ${p.direction === 'lower' ? 'lower' : 'higher'} ${p.feature} means more risk`
          : `rule: ${p.feature} ${p.direction === 'lower' ? '<' : '>'} ${p.threshold}`
        : c.family === 'rule'
          ? `rule: ${(p.all ?? []).map((r) => `${r.feature} ${r.op} ${String(r.value)}`).join(' and ')}`
          : c.family;
  return `${what}; registered ${c.version}`;
}

/** Families that are baselines, not candidates for the newest-version default. */
const BASELINE_FAMILIES = new Set(['prior', 'rule']);

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
  let file = layout.masterTable(hash);
  if (!fs.existsSync(file)) {
    const latest = readContract(layout.masterLatest, MasterLatestSchema, null);
    if (!latest) throw new Error(`evaluate: master table ${hash} not found and no master/latest.json`);
    file = layout.masterTable(latest.hash);
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

  const file = masterFile(opts.dataDir, card.master_hash);
  const present = await readParquetColumnNames(file);
  const presentSet = new Set(present);
  // The customer column: the build's group column (the customer key), or the key itself.
  const groupColumn = presentSet.has('group') ? 'group' : 'customer_key';
  if (!presentSet.has(groupColumn))
    throw new Error(`evaluate: ${file} has no customer column (group or customer_key): intervals resample customers`);
  const scoresMaster = (c: ModelCard) => c.features.every((f) => presentSet.has(f));

  // Every model that scores rows: candidate, champion, registered baselines trained on the same master.
  const models: {
    id: string;
    label: string;
    role: Contender['role'];
    version: string | null;
    description: string;
    kind?: string;
    model: LoadedModel;
    fixedThreshold?: number;
  }[] = [];
  const model = await loadModel(registry, version);
  models.push({
    id: 'candidate',
    label: `${card.family} ${version}`,
    role: 'candidate',
    version,
    description: `registered ${card.family} model ${version}`,
    model,
  });
  const aliases = readAliases(registry);
  const championCard =
    aliases.champion && aliases.champion !== version ? cards.find((c) => c.version === aliases.champion) : undefined;
  if (championCard && scoresMaster(championCard)) {
    const champ = await loadModel(registry, championCard.version);
    const kind = championCard.role === 'baseline' ? (championCard.baseline_kind ?? championCard.family) : undefined;
    models.push({
      id: 'champion',
      label: kind ? `champion (${kind} baseline)` : `${champ.card.family} ${championCard.version}`,
      role: 'champion',
      version: championCard.version,
      description: `registered ${champ.card.family} model ${championCard.version}${championCard.master_hash !== card.master_hash ? ` (trained on master ${championCard.master_hash})` : ''}`,
      ...(kind ? { kind } : {}),
      model: champ,
      fixedThreshold: champ.threshold,
    });
  } else if (championCard)
    log(
      `champion ${championCard.version} cannot score this master (features missing): it is not compared, and is replaced by what the gate serves`,
    );
  // The baselines train registered with this master table (a baseline fitted on other data proves nothing here): the newest of each kind.
  const baselineCards = new Map<string, ModelCard>();
  for (const c of cards) {
    if (c.version === version || c.master_hash !== card.master_hash || c.role !== 'baseline') continue;
    baselineCards.set(c.baseline_kind ?? c.family, c);
  }
  const kindOrder = (k: string) => {
    const i = (BASELINE_KINDS as readonly string[]).indexOf(k);
    return i < 0 ? BASELINE_KINDS.length : i;
  };
  for (const [kind, c] of [...baselineCards].sort(
    (a, b) => kindOrder(a[0]) - kindOrder(b[0]) || a[0].localeCompare(b[0]),
  )) {
    if (!scoresMaster(c)) continue;
    const m = await loadModel(registry, c.version);
    models.push({
      id: kind,
      label: `${kind} baseline`,
      role: 'baseline',
      version: c.version,
      description: baselineDescription(c),
      kind,
      model: m,
    });
  }
  if (!models.some((m) => m.role === 'baseline'))
    log(
      `no registered baseline trained on master ${card.master_hash}: the gate cannot show the candidate beats a rule`,
    );

  const lcCap = params.learning_curve.max_rows ?? DEFAULT_LEARNING_CURVE_MAX_ROWS;
  const trainSample = new Reservoir<Row>(lcCap, params.seed + 101);
  const valSample: Record<'calibration' | 'test', Reservoir<Row>> = {
    calibration: new Reservoir<Row>(lcCap, params.seed + 102),
    test: new Reservoir<Row>(lcCap, params.seed + 103),
  };
  const labels = Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>;
  const groups = Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>;
  const customerIds = new Map<string, number>();
  const scores = Object.fromEntries(
    models.map((m) => [m.id, Object.fromEntries(SCORED.map((s) => [s, new Growable()])) as Record<Scored, Growable>]),
  );
  let total = 0;
  let trainRows = 0;
  const wanted = new Set<string>([
    ...FEATURE_NAMES,
    ...models.flatMap((m) => m.model.card.features),
    TARGET,
    'split',
    groupColumn,
  ]);
  // Project to the columns any model can use and the customer; ids and folds are never needed here.
  const columns = present.filter((n) => wanted.has(n));
  await forEachParquetBatch(file, { columns, batchSize: BATCH_ROWS }, (table) => {
    const rows = rowsFromTable<Row>(table);
    total += rows.length;
    const bySplit: Record<Scored, Row[]> = { calibration: [], test: [], holdout: [] };
    for (const r of rows) {
      const s = r.split as string;
      if (s === 'train') {
        trainRows++;
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
        const key = String(r[groupColumn]);
        let id = customerIds.get(key);
        if (id === undefined) customerIds.set(key, (id = customerIds.size));
        groups[s].push(id);
      }
      for (const m of models) scores[m.id]![s].pushAll(m.model.predict(part));
    }
  });
  const count = (s: Scored) => labels[s].length;
  const thresholdSplit: Scored =
    params.threshold.split === 'calibration' && count('calibration') > 0 ? 'calibration' : 'test';
  if (count('test') === 0) throw new Error('evaluate: the master table has no test rows');
  log(
    `master rows ${total}: train ${trainRows}, calibration ${count('calibration')}, test ${count('test')}, holdout ${count('holdout')}; ${customerIds.size} customers outside train`,
  );

  // Contender order of the report: candidate, champion, then the baselines in kind order.
  const contenders: Contender[] = models.map((m) => ({
    id: m.id,
    label: m.label,
    role: m.role,
    version: m.version,
    description: m.description,
    ...(m.kind ? { kind: m.kind } : {}),
    scores: {
      threshold: scores[m.id]![thresholdSplit].values(),
      test: scores[m.id]!.test.values(),
      holdout: scores[m.id]!.holdout.values(),
    },
    ...(m.fixedThreshold !== undefined ? { fixedThreshold: m.fixedThreshold } : {}),
  }));

  const validation = valSample.calibration.seen ? valSample.calibration : valSample.test;
  const fromCard = learningCurveFromCard(card.cv);
  const learning =
    fromCard ??
    learningCurve(trainSample.items, validation.items, card.features, TARGET, {
      ...params.learning_curve,
      seed: params.seed,
    });
  const samples = {
    learning_curve: fromCard
      ? { source: 'card' as const }
      : {
          source: 'refit' as const,
          seed: params.seed,
          train_rows: trainSample.items.length,
          train_total: trainRows,
          validation_rows: validation.items.length,
          validation_total: validation.seen,
          cap: lcCap,
        },
    bootstrap: { max_rows: params.bootstrap.max_rows ?? null },
  };
  log(
    `learning curve: ${learning.length} points${fromCard ? ' (from the card)' : ` on ${trainSample.items.length} of ${trainRows} train rows`}`,
  );

  const splitLabels = {
    threshold: labels[thresholdSplit].values(),
    thresholdSplit,
    test: labels.test.values(),
    holdout: labels.holdout.values(),
    groups: { test: groups.test.values(), holdout: groups.holdout.values() },
  };
  const ev = evaluateCandidate(
    version,
    splitLabels,
    contenders,
    learning,
    params,
    learningCurveModel(card.family, fromCard !== null),
  );
  log(
    `threshold ${ev.decision.threshold.toFixed(4)} (${ev.decision.objective} on ${thresholdSplit}); gate: ${ev.verdict.decision}`,
  );

  writeContract(layout.modelDecision(version), DecisionSchema, ev.decision);
  // A baseline that will serve gets its threshold chosen by the same objective on the same rows.
  const servedBaseline =
    ev.verdict.served.role === 'baseline'
      ? ev.contenders.find((c) => c.role !== 'candidate' && c.version === ev.verdict.served.version)
      : undefined;
  if (servedBaseline?.version && !fs.existsSync(layout.modelDecision(servedBaseline.version))) {
    writeContract(layout.modelDecision(servedBaseline.version), DecisionSchema, {
      ...ev.decision,
      threshold: servedBaseline.threshold,
      achieved: undefined,
    });
  }

  // The champion alias moves to what the gate serves: the candidate, or the strongest baseline when no model beats it.
  let after = aliases;
  let promoted = false;
  let promoteError: string | null = null;
  const served = ev.verdict.served;
  if (served.change && served.version && !opts.noPromote) {
    try {
      const why =
        served.role === 'candidate'
          ? `gate passed: ${ev.verdict.reasons.slice(1).join('; ')}`
          : `gate: ${ev.verdict.reasons[0]}`;
      after = promote(registry, served.version, why);
      promoted = served.role === 'candidate';
      log(`champion → ${served.version} (${served.label}; previous: ${after.previous ?? 'none'})`);
    } catch (error) {
      promoteError = (error as Error).message;
    }
  }
  const verdict: Verdict = {
    ...ev.verdict,
    promoted,
    ...(promoteError ? { reasons: [...ev.verdict.reasons, `promotion failed: ${promoteError}`] } : {}),
    ...(opts.noPromote && served.change
      ? { reasons: [...ev.verdict.reasons, 'promotion skipped (--no-promote)'] }
      : {}),
  };
  const final: Evaluation = { ...ev, verdict };
  const reportDir = layout.reportDir(version);
  const generatedAt = new Date().toISOString();
  await writeDirAtomic(reportDir, (tmp, staged) => {
    for (const [name, svg] of Object.entries(final.plots)) writeFileAtomic(path.join(tmp, name), svg);
    writeContract(
      staged(layout.reportMetrics(version)),
      EvaluationMetricsSchema,
      metricsFile(final, generatedAt, samples),
    );
    writeContract(staged(layout.reportVerdict(version)), GateVerdictSchema, { ...verdict, decided_at: generatedAt });
    writeFileAtomic(
      staged(layout.reportHtml(version)),
      renderModelReport(final, card, after, { confidence: params.bootstrap.confidence, generatedAt }),
    );
  });
  writeIndex(opts.dataDir);
  if (promoteError) throw new Error(`evaluate: gate passed but promotion failed: ${promoteError}`);
  return { version, rowsIn: total, rowsOut: count('test') + count('holdout'), verdict, aliases: after, reportDir };
}

/** `metrics.json`: the evaluation with the plots' file names, when it was generated and what was sampled. */
function metricsFile(ev: Evaluation, generatedAt: string, samples: EvaluationMetrics['samples']): EvaluationMetrics {
  const { plots, ...rest } = ev;
  return { ...rest, plots: Object.keys(plots), generated_at: generatedAt, samples };
}

/** Three decimals; a statistic read back from JSON is null when it was undefined. */
const f3 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));

/** One line for the index: the decision, the strongest baseline and what serves. */
function verdictSummary(v: GateVerdict): string {
  const sb = v.strongest_baseline;
  const d = sb?.delta;
  const vs =
    sb && d
      ? `; vs ${sb.kind} ${d.value !== null && d.value >= 0 ? '+' : ''}${f3(d.value)} [${f3(d.lo)}, ${f3(d.hi)}]`
      : '';
  const serves = v.served ? `; serves ${v.served.label}` : '';
  return `${v.decision}${v.promoted ? ' (promoted)' : ''}${vs}${serves}`;
}

/** Rebuild `reports/index.html` from the registry, the aliases and each version's metrics.json. */
export function writeIndex(dataDir: string): string {
  const layout = dataLayout(dataDir);
  const aliases = readAliases(layout.registry);
  const entries: IndexEntry[] = listVersions(layout.registry).map((card) => {
    const m = readContract(layout.reportMetrics(card.version), EvaluationMetricsSchema, null);
    const cand = m?.contenders.find((c) => c.role === 'candidate');
    const flat = (s: 'test' | 'holdout') =>
      Object.fromEntries(Object.entries(cand?.splits[s].metrics ?? {}).map(([k, e]) => [k, e.value ?? NaN])) as Partial<
        Record<MetricName, number>
      >;
    return {
      card,
      evaluated: cand
        ? {
            test: flat('test'),
            holdout: flat('holdout'),
            threshold: cand.threshold,
            decision: m ? verdictSummary(m.verdict) : '',
          }
        : null,
    };
  });
  const file = layout.reportsIndex;
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
