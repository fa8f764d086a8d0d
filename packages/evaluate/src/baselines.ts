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

/** Does a row hit the rule ("previous ratio below the cut and not essential")? */
export function ruleHit(row: Row, rule: EvaluateParams['rule_baseline']): boolean {
  const v = row[rule.feature];
  return typeof v === 'number' && Number.isFinite(v) && v < rule.below && !row[rule.essential_feature];
}

/**
 * Streaming fit of both fallback baselines: observe train rows one at a time (memory O(1)), then
 * read the prior rate and the rule's hit/miss probabilities. {@link priorBaseline} and
 * {@link ruleBaseline} are this over an array.
 */
export class BaselineFit {
  private n = 0;
  private pos = 0;
  private hits = 0;
  private hitPos = 0;
  private misses = 0;
  private missPos = 0;
  constructor(
    private readonly target: string,
    private readonly rule: EvaluateParams['rule_baseline'],
  ) {}
  observe(row: Row): void {
    const t = row[this.target] ? 1 : 0;
    this.n++;
    this.pos += t;
    if (ruleHit(row, this.rule)) {
      this.hits++;
      this.hitPos += t;
    } else {
      this.misses++;
      this.missPos += t;
    }
  }
  /** Train prevalence (0 without rows). */
  priorRate(): number {
    return this.n ? this.pos / this.n : 0;
  }
  /** Probabilities of the rule's hit and miss groups, Laplace-smoothed so both stay strictly inside (0, 1) and log loss stays finite. */
  ruleRates(): { pHit: number; pMiss: number } {
    return { pHit: (this.hitPos + 1) / (this.hits + 2), pMiss: (this.missPos + 1) / (this.misses + 2) };
  }
  prior(): Scorer {
    const rate = this.priorRate();
    return { name: 'prior', description: `constant train prevalence ${rate.toFixed(4)}`, score: (rows) => new Float64Array(rows.length).fill(rate) };
  }
  ruleScorer(): Scorer {
    const { pHit, pMiss } = this.ruleRates();
    const rule = this.rule;
    return {
      name: 'rule',
      description: `${rule.feature} < ${rule.below} and not ${rule.essential_feature} → ${pHit.toFixed(3)}, else ${pMiss.toFixed(3)}`,
      score: (rows) => Float64Array.from(rows, (r) => (ruleHit(r, rule) ? pHit : pMiss)),
    };
  }
}

/**
 * Rule baseline: "flag when the previous known available-limit ratio is below the cut and the
 * merchant group is not essential" (the target's own definition, on information known before the
 * transaction). Scores are the train positive rates of the rule's hit and miss groups, so the rule
 * is a probability like any model.
 */
export function ruleBaseline(train: readonly Row[], target: string, rule: EvaluateParams['rule_baseline']): Scorer {
  const fit = new BaselineFit(target, rule);
  for (const r of train) fit.observe(r);
  return fit.ruleScorer();
}
