/**
 * What evaluate leaves behind: the decision beside each model that may serve, the champion alias
 * moved to what the gate serves (through the registry's audited promote), the report folder and
 * the index.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  dataLayout,
  readContract,
  writeContract,
  writeDirAtomic,
  writeFileAtomic,
  type DataLayout,
} from '@bolsillo/core';
import { completeAliasMove, listVersions, promote, readAliases } from '@bolsillo/model';
import {
  DecisionSchema,
  EvaluationMetricsSchema,
  GateVerdictSchema,
  type Aliases,
  type EvaluationMetrics,
  type GateVerdict,
  type ModelCard,
} from '@bolsillo/schema';
import type { Evaluation } from './evaluation';
import type { Verdict } from './gate';
import type { EvaluateParams, MetricName } from './params';
import { renderIndex, renderModelReport, type IndexEntry } from './report';

/**
 * Write the candidate's decision, and the decision of a baseline the gate will serve (its threshold
 * chosen by the same objective on the same rows) unless that baseline already has one.
 */
export function writeDecisions(layout: DataLayout, ev: Evaluation): void {
  writeContract(layout.modelDecision(ev.version), DecisionSchema, ev.decision);
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
}

/** What moving the champion alias did. */
export interface Promotion {
  readonly aliases: Aliases;
  /** The verdict with the promotion recorded: promoted, and why not when it failed or was skipped. */
  readonly verdict: Verdict;
  readonly error: string | null;
}

/** The verdict as recorded after the promotion step (pure). */
export function recordedVerdict(verdict: Verdict, promoted: boolean, error: string | null, skipped: boolean): Verdict {
  return {
    ...verdict,
    promoted,
    ...(error ? { reasons: [...verdict.reasons, `promotion failed: ${error}`] } : {}),
    ...(skipped ? { reasons: [...verdict.reasons, 'promotion skipped (--no-promote)'] } : {}),
  };
}

/** The version the champion alias moves to after `verdict` (pure): null when it stays, or with `noPromote`. */
export function promotionTarget(verdict: Verdict, noPromote: boolean): string | null {
  const served = verdict.served;
  return served.change && served.version && !noPromote ? served.version : null;
}

/**
 * Move the champion alias to what the gate serves (the candidate, or the strongest baseline when no
 * model beats it), unless `noPromote`. A failed promotion is recorded, not thrown: the report is
 * still written, and the caller fails afterwards. `done`: a run of this evaluation killed before its
 * report already moved the alias there (promotion-record.ts), so it is not moved again, and audited once
 * (the registry completes a move whose audit entry the kill cut off).
 */
export function promoteServed(
  registryDir: string,
  verdict: Verdict,
  aliases: Aliases,
  noPromote: boolean,
  log: (message: string) => void,
  done = false,
): Promotion {
  // This run writes the registry: first the audit entry of an alias move a killed run left unrecorded
  // (a run of this evaluation killed between aliases.json and the trail, resumed with `done`).
  completeAliasMove(registryDir);
  let after = aliases;
  let promoted = false;
  let error: string | null = null;
  const served = verdict.served;
  const target = promotionTarget(verdict, noPromote);
  if (target && done) {
    after = readAliases(registryDir);
    promoted = served.role === 'candidate';
    log(`champion → ${target}: moved by the run of this evaluation that stopped before its report`);
  } else if (target) {
    try {
      const why =
        served.role === 'candidate'
          ? `gate passed: ${verdict.reasons.slice(1).join('; ')}`
          : `gate: ${verdict.reasons[0]}`;
      after = promote(registryDir, target, why);
      promoted = served.role === 'candidate';
      log(`champion → ${target} (${served.label}; previous: ${after.previous ?? 'none'})`);
    } catch (e) {
      error = (e as Error).message;
    }
  }
  return { aliases: after, verdict: recordedVerdict(verdict, promoted, error, noPromote && served.change), error };
}

/** `metrics.json`: the evaluation with the plots' file names, when it was generated and what was sampled. */
export function metricsFile(
  ev: Evaluation,
  generatedAt: string,
  samples: EvaluationMetrics['samples'],
): EvaluationMetrics {
  const { plots, ...rest } = ev;
  return { ...rest, plots: Object.keys(plots), generated_at: generatedAt, samples };
}

/** Write `reports/<version>/` atomically: plots, metrics.json, verdict.json and report.html. */
export async function writeReport(
  layout: DataLayout,
  ev: Evaluation,
  card: ModelCard,
  aliases: Aliases,
  params: EvaluateParams,
  samples: EvaluationMetrics['samples'],
  generatedAt: string,
): Promise<string> {
  const version = ev.version;
  const dir = layout.reportDir(version);
  await writeDirAtomic(dir, (tmp, staged) => {
    for (const [name, svg] of Object.entries(ev.plots)) writeFileAtomic(path.join(tmp, name), svg);
    writeContract(
      staged(layout.reportMetrics(version)),
      EvaluationMetricsSchema,
      metricsFile(ev, generatedAt, samples),
    );
    writeContract(staged(layout.reportVerdict(version)), GateVerdictSchema, { ...ev.verdict, decided_at: generatedAt });
    writeFileAtomic(
      staged(layout.reportHtml(version)),
      renderModelReport(ev, card, aliases, { confidence: params.bootstrap.confidence, generatedAt }),
    );
  });
  return dir;
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
