/**
 * Small but real demonstration models, registered in the on-disk format core's `loadModel` reads.
 * Tests and the API benchmark use them so they exercise the production loader and runtime on a
 * machine with no trained model; they are never promoted by the pipeline.
 */
import { seededRandom } from '@bolsillo/core';
import {
  encodedNames,
  newVersionId,
  promote,
  setAlias,
  writeModelVersion,
  type LayersModelJson,
} from '@bolsillo/model';
import type { ModelCard, Preprocessing } from '@bolsillo/schema';

const COLUMNS: Preprocessing['columns'] = [
  { name: 'available_ratio', kind: 'numeric', mean: 0.5, std: 0.3, missing_indicator: true },
  { name: 'log_amount', kind: 'numeric', mean: 5, std: 1.5, missing_indicator: false },
  { name: 'is_essential', kind: 'boolean' },
  { name: 'hist_count_30d', kind: 'numeric', mean: 4, std: 3, missing_indicator: false },
  { name: 'merchant_group', kind: 'category', vocabulary: ['SERVIÇO', 'RESTAURANTE', 'VESTUARIO', 'SUPERMERCADOS'] },
];
const ENCODED = COLUMNS.flatMap((c) => encodedNames(c));
const PREPROCESSING: Preprocessing = { columns: COLUMNS, width: ENCODED.length, encoded_names: ENCODED };

let clock = Date.UTC(2024, 0, 1);

/**
 * Register a demonstration logistic model (one sigmoid dense layer) with weights drawn from `seed`; `bias` shifts
 * every probability, so two versions answer visibly differently. Returns the version id.
 */
export async function registerDemoModel(registryDir: string, seed: number, bias = 0): Promise<string> {
  clock += 1000;
  const version = newVersionId(new Date(clock), seed.toString(16).padStart(6, '0').slice(-6));
  const width = PREPROCESSING.width;
  const rnd = seededRandom(seed);
  const kernel = Float32Array.from({ length: width }, () => (rnd() - 0.5) * 2);
  // Make utilisation dominate, as in the real target: low available ratio → high probability.
  kernel[0] = -2.5;
  const weights = new Uint8Array(new Float32Array([...kernel, bias]).buffer);
  const modelJson: LayersModelJson = {
    format: 'layers-model',
    generatedBy: 'bolsillo serve demo model',
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'logistic',
        layers: [{ class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'sigmoid', use_bias: true } }],
      },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'dense/kernel', shape: [width, 1], dtype: 'float32' },
          { name: 'dense/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  const card: ModelCard = {
    version,
    created_at: new Date(clock).toISOString(),
    family: 'logistic',
    features: PREPROCESSING.columns.map((c) => c.name),
    preprocessing: PREPROCESSING as unknown as Record<string, unknown>,
    calibration: { method: 'none' },
    threshold: 0.5,
    master_hash: 'demo',
    params: { seed },
    cv: {},
    metrics: {},
    training_seconds: 0,
    backend: 'none (demonstration weights)',
    code_version: 'demo',
  };
  await writeModelVersion(registryDir, card, { modelJson, weights });
  return version;
}

/** Register a demonstration model and make it champion. */
export async function registerDemoChampion(registryDir: string, seed: number, bias = 0): Promise<string> {
  const version = await registerDemoModel(registryDir, seed, bias);
  promote(registryDir, version, 'demonstration model');
  return version;
}

/** Register a demonstration model and make it challenger. */
export async function registerDemoChallenger(registryDir: string, seed: number, bias = 0): Promise<string> {
  const version = await registerDemoModel(registryDir, seed, bias);
  setAlias(registryDir, 'challenger', version, 'demonstration model');
  return version;
}
