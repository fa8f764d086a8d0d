import type { ModelCard } from '@bolsillo/schema';

/**
 * What serving needs from a model: the shape of core's `LoadedModel` (the registry runtime), stated
 * structurally here so the serving code and its tests depend on the behaviour, not on a loader.
 */
export interface ScoringModel {
  readonly card: ModelCard;
  /** Decision threshold on the calibrated probability. */
  readonly threshold: number;
  /** Calibrated probabilities, one per row (rows are feature values keyed by feature name). */
  predict(rows: Record<string, unknown>[]): Float64Array;
  /** Per-feature contributions to the logit, or null when the family has none. */
  contributions(row: Record<string, unknown>): Record<string, number> | null;
  /**
   * Both of the above from one encoding of the rows (core's runtime has it); the probabilities must
   * equal {@link predict}'s and the contributions {@link contributions}'.
   */
  score?(
    rows: Record<string, unknown>[],
    withContributions: boolean,
  ): { probabilities: Float64Array; contributions: (Record<string, number> | null)[] | null };
}

/** Loads one registry version (core's `loadModel` in production). */
export type ModelLoader = (registryDir: string, version: string) => Promise<ScoringModel>;

/** The variants a request can be answered by. */
export type Variant = 'champion' | 'challenger';
