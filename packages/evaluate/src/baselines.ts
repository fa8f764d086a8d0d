/**
 * Fallback baselines, used only when the registry holds no `prior` / `rule` family model trained
 * on the same master table. Both are fitted on the train split only.
 */
import type { EvaluateParams } from './params';

type Row = Readonly<Record<string, unknown>>;

/** A scorer over master-table rows. */
export interface Scorer {
  readonly name: string;
  readonly description: string;
  score(rows: readonly Row[]): Float64Array;
}

/** Prior baseline: every row gets the train prevalence. */
export function priorBaseline(train: readonly Row[], target: string): Scorer {
  const rate = train.length ? train.filter((r) => r[target]).length / train.length : 0;
  return {
    name: 'prior',
    description: `constant train prevalence ${rate.toFixed(4)}`,
    score: (rows) => new Float64Array(rows.length).fill(rate),
  };
}

/**
 * Rule baseline: "flag when the previous known available-limit ratio is below the cut and the
 * merchant group is not essential" (the target's own definition, on information known before the
 * transaction). Scores are the train positive rates of the rule's hit and miss groups, so the rule
 * is a probability like any model.
 */
export function ruleBaseline(train: readonly Row[], target: string, rule: EvaluateParams['rule_baseline']): Scorer {
  const hit = (r: Row) => {
    const v = r[rule.feature];
    return typeof v === 'number' && Number.isFinite(v) && v < rule.below && !r[rule.essential_feature];
  };
  let hits = 0;
  let hitPos = 0;
  let misses = 0;
  let missPos = 0;
  for (const r of train) {
    if (hit(r)) {
      hits++;
      hitPos += r[target] ? 1 : 0;
    } else {
      misses++;
      missPos += r[target] ? 1 : 0;
    }
  }
  // Laplace smoothing keeps both scores strictly inside (0, 1) so log loss stays finite.
  const pHit = (hitPos + 1) / (hits + 2);
  const pMiss = (missPos + 1) / (misses + 2);
  return {
    name: 'rule',
    description: `${rule.feature} < ${rule.below} and not ${rule.essential_feature} → ${pHit.toFixed(3)}, else ${pMiss.toFixed(3)}`,
    score: (rows) => Float64Array.from(rows, (r) => (hit(r) ? pHit : pMiss)),
  };
}
