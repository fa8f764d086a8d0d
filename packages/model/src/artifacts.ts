/**
 * The on-disk model format (`model.json` + `weights.bin`). Layers models use the TensorFlow.js
 * "layers-model" artifacts format, so `tf.loadLayersModel` can read them too; baselines use a small
 * declarative format. Both are data only: nothing in a model file is executable.
 */
import type { TreeEnsembleJson } from './trees';

/** One weight tensor in `weights.bin` (little-endian float32, in manifest order). */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
}

/** `model.json` of a tfjs layers model. */
export interface LayersModelJson {
  readonly format: 'layers-model';
  readonly generatedBy: string;
  readonly convertedBy: string | null;
  /** Keras-style topology as `model.toJSON()` / a save handler produces it. */
  readonly modelTopology: Record<string, unknown>;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly WeightSpec[] }[];
}

/** A condition of a rule baseline: `row[feature] <op> value`; a missing value never matches. */
export interface RuleCondition {
  readonly feature: string;
  readonly op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  readonly value: number | boolean | string;
}

/**
 * `model.json` of a single-feature scorer: one feature, a direction, and a logistic map to a
 * probability. Graded (`threshold` null): the signed value `t = ±x` (`+` when higher means more
 * risk), so the ranking is exactly the feature's own. Binary (`threshold` set): `t = 1` when `x` is
 * beyond the threshold in the risk direction (`x < threshold` for `lower`, `x > threshold` for
 * `higher`), else 0. Probability `sigmoid(a · (t − center) / scale + b)` with `a ≥ 0`; a missing value
 * scores `missing_probability`.
 */
export interface FeatureScorerJson {
  readonly format: 'bolsillo-baseline';
  readonly family: 'feature';
  readonly feature: string;
  readonly direction: 'higher' | 'lower';
  readonly threshold: number | null;
  readonly center: number;
  readonly scale: number;
  readonly a: number;
  readonly b: number;
  readonly missing_probability: number;
}

/** `model.json` of a baseline: the prior (constant prevalence), a rule (all conditions → 1, else 0) or a single-feature scorer. */
export type BaselineModelJson =
  | { readonly format: 'bolsillo-baseline'; readonly family: 'prior'; readonly probability: number }
  | { readonly format: 'bolsillo-baseline'; readonly family: 'rule'; readonly all: readonly RuleCondition[] }
  | FeatureScorerJson;

/** Any `model.json` the runtime reads. */
export type ModelJson = LayersModelJson | BaselineModelJson | TreeEnsembleJson;

/** The files of one model: `model.json` content and `weights.bin` bytes. */
export interface ModelArtifacts {
  readonly modelJson: ModelJson;
  readonly weights: Uint8Array;
}

/** Artifacts of a baseline model (no weights). */
export function baselineArtifacts(model: BaselineModelJson): ModelArtifacts {
  return { modelJson: model, weights: new Uint8Array(0) };
}

/** Evaluate a rule baseline on one row: 1 when every condition holds. */
export function ruleScore(all: readonly RuleCondition[], row: Readonly<Record<string, unknown>>): number {
  for (const c of all) {
    const v = row[c.feature];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return 0;
    const a =
      typeof c.value === 'number'
        ? Number(v)
        : typeof c.value === 'boolean'
          ? v === true || v === 1 || v === 'true'
          : String(v);
    const b = c.value;
    const ok =
      c.op === '<'
        ? a < b
        : c.op === '<='
          ? a <= b
          : c.op === '>'
            ? a > b
            : c.op === '>='
              ? a >= b
              : c.op === '=='
                ? a === b
                : a !== b;
    if (!ok) return 0;
  }
  return 1;
}

/** A feature value as a number: booleans 1/0, numeric strings parsed; anything else (and missing) NaN. */
export function featureNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v === 'true') return 1;
  if (v === 'false') return 0;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/** The signed score `t` of a single-feature scorer for a feature value (NaN when missing). */
export function featureSignal(m: Pick<FeatureScorerJson, 'direction' | 'threshold'>, value: unknown): number {
  const x = featureNumber(value);
  if (!Number.isFinite(x)) return NaN;
  if (m.threshold === null) return m.direction === 'higher' ? x : -x;
  return (m.direction === 'lower' ? x < m.threshold : x > m.threshold) ? 1 : 0;
}

/** Probability of a single-feature scorer for one row. */
export function featureScore(m: FeatureScorerJson, row: Readonly<Record<string, unknown>>): number {
  return featureValueScore(m, row[m.feature]);
}

/** Probability of a single-feature scorer for its feature's value (missing: null, undefined or NaN). */
export function featureValueScore(m: FeatureScorerJson, value: unknown): number {
  const t = featureSignal(m, value);
  if (!Number.isFinite(t)) return m.missing_probability;
  const z = (m.a * (t - m.center)) / m.scale + m.b;
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
