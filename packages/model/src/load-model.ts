import fs from 'node:fs';
import {
  CalibrationSchema,
  DecisionSchema,
  PreprocessingSchema,
  describeErrors,
  validatorFor,
  type Calibration,
  type ModelCard,
  type Preprocessing,
} from '@bolsillo/schema';
import { readContract, readJson, registryLayout } from '@bolsillo/core';
import { readCard } from './registry';
import { featureScore, featureValueScore, ruleScore, type ModelJson } from './artifacts';
import { calibrate, sigmoid } from './calibration';
import { createEncoder, type ColumnBatch } from './preprocessing';
import { forwardDense, readDenseNetwork } from './network';
import { compileTreeEnsemble, treeContributions, treeLogits } from './trees';

/** A model ready to score: everything from the registry folder, evaluated without tfjs. */
export interface LoadedModel {
  readonly card: ModelCard;
  /** `decision.json` threshold when evaluate wrote one, else the card's. */
  readonly threshold: number;
  /** Calibrated probabilities, one per row. */
  predict(rows: readonly Readonly<Record<string, unknown>>[]): Float64Array;
  /** Raw (uncalibrated) model probabilities, one per row. */
  predictRaw(rows: readonly Readonly<Record<string, unknown>>[]): Float64Array;
  /**
   * {@link predict} of a column batch (the same probabilities as its rows as objects), for callers
   * that hold typed columns: evaluate scores millions of rows without an object per row.
   */
  predictColumns(batch: ColumnBatch): Float64Array;
  /** The feature columns the scorer reads (a column batch needs these only). */
  readonly inputs: readonly string[];
  /** Per-feature contributions to the logit (logistic and gbdt models; null otherwise). */
  contributions(row: Readonly<Record<string, unknown>>): Record<string, number> | null;
  /**
   * {@link predict} and, when asked, each row's {@link contributions}, from one encoding of the rows
   * (the serving path asks for both; encoding a row twice cost as much as the network).
   */
  score(rows: readonly Readonly<Record<string, unknown>>[], withContributions: boolean): ModelScores;
}

/** What {@link LoadedModel.score} returns: calibrated probabilities and, if asked, contributions per row. */
export interface ModelScores {
  readonly probabilities: Float64Array;
  /** Per row: contributions (null for families without them); null when not asked for. */
  readonly contributions: (Record<string, number> | null)[] | null;
}

function checked<T>(what: string, schema: Parameters<typeof validatorFor>[0], value: unknown): T {
  const validate = validatorFor(schema);
  if (!validate(value)) throw new Error(`${what}: ${describeErrors(validate.errors).join('; ')}`);
  return value as T;
}

/**
 * Build a scorer from a card and the model files' contents. Used by {@link loadModel}, and by
 * training to check a model before registering it.
 */
export function modelFromArtifacts(
  card: ModelCard,
  modelJson: ModelJson,
  weights: Uint8Array,
  threshold = card.threshold,
): LoadedModel {
  const calibration = checked<Calibration>(
    `model ${card.version}: card.calibration`,
    CalibrationSchema,
    stripExtras(card.calibration),
  );
  const finish = (raw: Float64Array): Float64Array => raw.map((p) => calibrate(calibration, p));
  let predictRaw: (rows: readonly Readonly<Record<string, unknown>>[]) => Float64Array;
  let predictRawColumns: (batch: ColumnBatch) => Float64Array;
  let inputs: readonly string[];
  let contributions: LoadedModel['contributions'] = () => null;
  let score: LoadedModel['score'] | null = null;
  if (modelJson.format === 'bolsillo-baseline') {
    if (modelJson.family === 'prior') {
      const p = modelJson.probability;
      predictRaw = (rows) => new Float64Array(rows.length).fill(p);
      predictRawColumns = (batch) => new Float64Array(batch.length).fill(p);
      inputs = [];
    } else if (modelJson.family === 'feature') {
      const m = modelJson;
      predictRaw = (rows) => Float64Array.from(rows, (r) => featureScore(m, r));
      predictRawColumns = (batch) => {
        const values = batch.column(m.feature);
        const out = new Float64Array(batch.length);
        for (let r = 0; r < out.length; r++) out[r] = featureValueScore(m, values ? values[r] : undefined);
        return out;
      };
      inputs = [m.feature];
    } else {
      const all = modelJson.all;
      predictRaw = (rows) => Float64Array.from(rows, (r) => ruleScore(all, r));
      const features = [...new Set(all.map((c) => c.feature))];
      predictRawColumns = (batch) => {
        const cols = features.map((f) => batch.column(f));
        const out = new Float64Array(batch.length);
        for (let r = 0; r < out.length; r++) {
          // The conditions' own columns of the row: a few fields, not the whole row.
          const row: Record<string, unknown> = {};
          features.forEach((f, k) => (row[f] = cols[k] ? cols[k]![r] : undefined));
          out[r] = ruleScore(all, row);
        }
        return out;
      };
      inputs = features;
    }
  } else if (modelJson.format === 'layers-model') {
    const prep = checked<Preprocessing>(
      `model ${card.version}: card.preprocessing`,
      PreprocessingSchema,
      card.preprocessing,
    );
    const encoder = createEncoder(prep);
    const layers = readDenseNetwork(modelJson, weights);
    if (layers.length === 0 || layers[0]!.inputs !== encoder.width)
      throw new Error(
        `model ${card.version}: network expects ${layers[0]?.inputs} inputs, preprocessing gives ${encoder.width}`,
      );
    if (layers[layers.length - 1]!.units !== 1)
      throw new Error(`model ${card.version}: the last layer must have one unit`);
    predictRaw = (rows) => Float64Array.from(forwardDense(layers, encoder.encode(rows), rows.length));
    predictRawColumns = (batch) => Float64Array.from(forwardDense(layers, encoder.encodeColumns(batch), batch.length));
    inputs = prep.columns.map((c) => c.name);
    if (card.family === 'logistic' && layers.length === 1) {
      const { kernel } = layers[0]!;
      const spans = encoder.spans;
      // Contributions of the row starting at `base` of an encoded block.
      const explain = (x: Float32Array, base: number): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const s of spans) {
          let c = 0;
          for (let i = s.start; i < s.start + s.length; i++) c += x[base + i]! * kernel[i]!;
          out[s.feature] = c;
        }
        return out;
      };
      contributions = (row) => explain(encoder.encode([row]), 0);
      score = (rows, withContributions) => {
        const x = encoder.encode(rows);
        const probabilities = finish(Float64Array.from(forwardDense(layers, x, rows.length)));
        return {
          probabilities,
          contributions: withContributions ? rows.map((_, r) => explain(x, r * encoder.width)) : null,
        };
      };
    }
  } else if (modelJson.format === 'bolsillo-gbdt') {
    const prep = checked<Preprocessing>(
      `model ${card.version}: card.preprocessing`,
      PreprocessingSchema,
      card.preprocessing,
    );
    const encoder = createEncoder(prep);
    const trees = compileTreeEnsemble(modelJson);
    if (trees.inputs !== encoder.width)
      throw new Error(
        `model ${card.version}: trees expect ${trees.inputs} inputs, preprocessing gives ${encoder.width}`,
      );
    predictRaw = (rows) => treeLogits(trees, encoder.encode(rows), rows.length).map(sigmoid);
    predictRawColumns = (batch) => treeLogits(trees, encoder.encodeColumns(batch), batch.length).map(sigmoid);
    inputs = prep.columns.map((c) => c.name);
    const spans = encoder.spans;
    const perInput = new Float64Array(encoder.width);
    // Path contributions per encoded input, summed per feature (a one-hot category's columns are one feature).
    const explain = (x: Float32Array, row: number): Record<string, number> => {
      perInput.fill(0);
      treeContributions(trees, x, row, perInput);
      const out: Record<string, number> = {};
      for (const s of spans) {
        let c = 0;
        for (let i = s.start; i < s.start + s.length; i++) c += perInput[i]!;
        out[s.feature] = c;
      }
      return out;
    };
    contributions = (row) => explain(encoder.encode([row]), 0);
    score = (rows, withContributions) => {
      const x = encoder.encode(rows);
      const probabilities = finish(treeLogits(trees, x, rows.length).map(sigmoid));
      return { probabilities, contributions: withContributions ? rows.map((_, r) => explain(x, r)) : null };
    };
  } else {
    throw new Error(
      `model ${card.version}: unknown model.json format ${String((modelJson as { format?: unknown }).format)}`,
    );
  }
  const predict = (rows: readonly Readonly<Record<string, unknown>>[]) => finish(predictRaw(rows));
  const predictColumns = (batch: ColumnBatch) => finish(predictRawColumns(batch));
  const scoreAny: LoadedModel['score'] =
    score ??
    ((rows, withContributions) => ({
      probabilities: predict(rows),
      contributions: withContributions ? rows.map(contributions) : null,
    }));
  return { card, threshold, predictRaw, predict, predictColumns, inputs, contributions, score: scoreAny };
}

// The card keeps the comparison that chose the calibration beside it; the runtime needs only the method's own fields.
function stripExtras(cal: Record<string, unknown>): unknown {
  const { method } = cal;
  if (method === 'platt') return { method, a: cal.a, b: cal.b };
  if (method === 'isotonic') return { method, x: cal.x, y: cal.y };
  return { method };
}

/**
 * Load a registered model for scoring. Preprocessing and calibration come from the card, weights
 * from `weights.bin`; the threshold is `decision.json`'s when evaluate wrote one.
 *
 * @example const m = await loadModel(layout.registry, aliases.champion!); m.predict([row])[0]
 */
export async function loadModel(registryDir: string, version: string): Promise<LoadedModel> {
  const card = readCard(registryDir, version);
  const layout = registryLayout(registryDir);
  const modelJson = readJson<ModelJson>(layout.modelJson(version));
  const weights = await fs.promises.readFile(layout.modelWeights(version));
  const threshold = readContract(layout.modelDecision(version), DecisionSchema, null)?.threshold ?? card.threshold;
  return modelFromArtifacts(
    card,
    modelJson,
    new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
    threshold,
  );
}
