import { TARGET } from '@bolsillo/schema';
import { column, type Frame } from './frame';
import type { BuildParams } from './params';

/** The target of each row: 1 positive, 0 negative, -1 cannot be computed (row excluded). */
export interface TargetResult {
  readonly name: typeof TARGET;
  readonly values: Int8Array;
  readonly positives: number;
  readonly negatives: number;
  /** Rows excluded because the ratio cannot be computed, by reason. */
  readonly excluded: { readonly total: number; readonly missing_ratio: number; readonly no_credit_limit: number };
  /**
   * Positives under the original prototype's rule, which rounded the percentage to an integer
   * (Python's round-half-even) before comparing it. Kept only to document the difference.
   */
  readonly positives_rounded_rule: number;
}

/** Python 3 `round(x)`: half to even. The prototype used it, so parity needs it too. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Revenge spending: the available share of the limit, compared unrounded, is below the threshold,
 * and the merchant group is not essential. A row without a usable ratio (total limit 0 or missing)
 * gets -1 and is counted, never guessed.
 *
 * @example computeTarget(frame, { threshold: 0.2, essential_groups: ['SUPERMERCADOS'] }).positives
 */
export function computeTarget(frame: Frame, params: BuildParams['target']): TargetResult {
  const ratio = column(frame, 'available_ratio');
  const limit = column(frame, 'credit_limit');
  const group = column(frame, 'merchant_group');
  const essential = new Set(params.essential_groups.map((g) => g.trim().toUpperCase()));
  const values = new Int8Array(frame.length);
  let positives = 0;
  let negatives = 0;
  let missingRatio = 0;
  let noLimit = 0;
  let rounded = 0;
  const pctThreshold = params.threshold * 100;
  for (let i = 0; i < frame.length; i++) {
    const l = limit.get(i);
    const r = ratio.get(i);
    if (typeof l !== 'number' || !(l > 0)) {
      noLimit++;
      values[i] = -1;
      continue;
    }
    if (typeof r !== 'number' || !Number.isFinite(r)) {
      missingRatio++;
      values[i] = -1;
      continue;
    }
    const g = group.get(i);
    const nonEssential = !(typeof g === 'string' && essential.has(g.trim().toUpperCase()));
    const y = r < params.threshold && nonEssential;
    values[i] = y ? 1 : 0;
    if (y) positives++;
    else negatives++;
    if (nonEssential && roundHalfEven(r * 100) < pctThreshold) rounded++;
  }
  return {
    name: TARGET,
    values,
    positives,
    negatives,
    excluded: { total: missingRatio + noLimit, missing_ratio: missingRatio, no_credit_limit: noLimit },
    positives_rounded_rule: rounded,
  };
}

/** Transaction columns the target is computed from (leakage check (a) looks for features built on them). */
export const TARGET_SOURCES = ['available_limit', 'credit_limit', 'merchant_group'] as const;
