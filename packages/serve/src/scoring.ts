import crypto from 'node:crypto';
import type { ScoringModel, Variant } from './model';

/** The score of one row. */
export interface RowScore {
  readonly probability: number;
  readonly label: boolean;
  readonly contributions: Record<string, number> | null;
}

/**
 * Score feature rows with a model: calibrated probability, label at the model's threshold
 * (`probability >= threshold`) and, optionally, per-feature contributions. The one scoring path
 * shared by the API and batch scoring, so both answer the same for the same features.
 */
export function scoreRows(model: ScoringModel, rows: Record<string, unknown>[], withContributions = true): RowScore[] {
  if (rows.length === 0) return [];
  let p: Float64Array;
  let explained: (Record<string, number> | null)[] | null = null;
  if (model.score) {
    const s = model.score(rows, withContributions);
    p = s.probabilities;
    explained = s.contributions;
  } else {
    p = model.predict(rows);
  }
  const out: RowScore[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const probability = p[i]!;
    const contributions = !withContributions
      ? null
      : explained !== null
        ? explained[i]!
        : model.contributions(rows[i]!);
    out[i] = { probability, label: probability >= model.threshold, contributions };
  }
  return out;
}

/** How live traffic is shared between champion and challenger. */
export interface RoutingConfig {
  /** Percentage (0–100) of customers answered by the challenger when one is loaded. */
  readonly challengerPercent: number;
  /** Shadow mode: the champion answers everything; the challenger also scores and is only logged. */
  readonly shadow: boolean;
}

/** Bucket 0–99 of a key: FNV-1a, so a customer lands in the same bucket on every replica and restart. */
export function stickyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}

/**
 * Which variant answers: the challenger for the customers whose bucket is below the split
 * percentage (sticky per customer), the champion otherwise and always in shadow mode.
 * Without a customer key a random bucket is drawn (nothing to stick to).
 */
export function chooseVariant(key: string | null, routing: RoutingConfig, challengerLoaded: boolean): Variant {
  if (!challengerLoaded || routing.shadow || routing.challengerPercent <= 0) return 'champion';
  const bucket = key !== null ? stickyBucket(key) : crypto.randomInt(100);
  return bucket < routing.challengerPercent ? 'challenger' : 'champion';
}
