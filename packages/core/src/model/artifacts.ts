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

/** `model.json` of a baseline: the prior (constant prevalence) or a rule (all conditions → 1, else 0). */
export type BaselineModelJson =
  | { readonly format: 'bolsillo-baseline'; readonly family: 'prior'; readonly probability: number }
  | { readonly format: 'bolsillo-baseline'; readonly family: 'rule'; readonly all: readonly RuleCondition[] };

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
    const a = typeof c.value === 'number' ? Number(v) : typeof c.value === 'boolean' ? v === true || v === 1 || v === 'true' : String(v);
    const b = c.value;
    const ok =
      c.op === '<' ? a < b : c.op === '<=' ? a <= b : c.op === '>' ? a > b : c.op === '>=' ? a >= b : c.op === '==' ? a === b : a !== b;
    if (!ok) return 0;
  }
  return 1;
}
