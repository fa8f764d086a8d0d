/**
 * What the registry says about the served models: the champion, challenger and previous champion
 * loaded for scoring, each version's decision (threshold, value matrix) and evaluated metrics.
 */
import { readContract, type DataLayout } from '@bolsillo/core';
import { loadModel, readCard, type LoadedModel } from '@bolsillo/model';
import { DecisionSchema, EvaluationMetricsSchema, type Aliases, type Decision } from '@bolsillo/schema';
import { findMetric } from './io';

/** The aliased models, loaded; null where the alias is empty or its model cannot be loaded (logged). */
export interface ServedModels {
  readonly champion: LoadedModel | null;
  readonly challenger: LoadedModel | null;
  /** The previous champion is scored too, so a rollback decision can be checked against what it would have done. */
  readonly previous: LoadedModel | null;
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

/** Load the champion, the challenger and the previous champion, in that order. */
export async function loadServed(registry: string, aliases: Aliases, log: (m: string) => void): Promise<ServedModels> {
  const champion = await tryLoad(registry, aliases.champion, log);
  const challenger = await tryLoad(registry, aliases.challenger, log);
  const previous = await tryLoad(registry, aliases.previous, log);
  return { champion, challenger, previous };
}

/** A version's decision.json; null when evaluate has not written one, or when it is unreadable (logged). */
export function decisionOf(layout: DataLayout, version: string, log: (m: string) => void): Decision | null {
  const file = layout.modelDecision(version);
  try {
    return readContract(file, DecisionSchema, null);
  } catch (error) {
    log(`ignoring ${file}: ${(error as Error).message}`);
    return null;
  }
}

/** The card's threshold of a version no alias serves; undefined when the version is not (readably) registered. */
export function cardThresholdOf(registry: string, version: string): number | undefined {
  try {
    return readCard(registry, version).threshold;
  } catch {
    return undefined;
  }
}

/** The champion's evaluated PR-AUC and ROC-AUC: evaluate's metrics.json, else its card. */
export function championEvaluationOf(
  layout: DataLayout,
  champion: LoadedModel | null,
): Partial<Record<'pr_auc' | 'roc_auc', number>> {
  const out: Partial<Record<'pr_auc' | 'roc_auc', number>> = {};
  if (!champion) return out;
  const report = readContract(layout.reportMetrics(champion.card.version), EvaluationMetricsSchema, null);
  for (const m of ['pr_auc', 'roc_auc'] as const) {
    const v = findMetric(report, m) ?? findMetric(champion.card.metrics, m);
    if (v !== undefined) out[m] = v;
  }
  return out;
}
