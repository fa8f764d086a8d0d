import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  baselineArtifacts,
  createEncoder,
  loadModel,
  loadTf,
  newVersionId,
  ruleScore,
  writeModelVersion,
  type LayersModelJson,
} from '@bolsillo/model';
import { TARGET, type ModelCard } from '@bolsillo/schema';
import { syntheticMasterRows, SYNTHETIC_FEATURES } from './fixture.test-util';
import { networkArtifacts, predictNetwork, resolveParams, trainNetwork } from './models';
import { fitPreprocessing, type PreprocessOptions } from './preprocess-fit';
import type { HyperParams } from './params';

const rows = syntheticMasterRows(40, 15, 3);
const y = Float32Array.from(rows, (r) => (r[TARGET] ? 1 : 0));

function card(
  version: string,
  family: ModelCard['family'],
  preprocessing: Record<string, unknown>,
  features: string[],
): ModelCard {
  return {
    version,
    created_at: '2024-01-01T00:00:00.000Z',
    family,
    features,
    preprocessing,
    calibration: { method: 'none' },
    threshold: 0.5,
    master_hash: 'fixture',
    params: {},
    cv: {},
    metrics: {},
    training_seconds: 0,
    backend: 'test',
    code_version: 'test',
  };
}

describe('save → load round trip (registry files, no tfjs at load time)', () => {
  let dir: string;
  let counter = 0;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-roundtrip-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each<['logistic' | 'mlp', HyperParams, PreprocessOptions]>([
    ['logistic', { epochs: 5, learning_rate: 0.1 }, { min_category_count: 2, max_categories: 10, numeric_bins: 4 }],
    [
      'mlp',
      { epochs: 5, learning_rate: 0.05, hidden: [8, 4] },
      { min_category_count: 2, max_categories: 10, numeric_bins: 4 },
    ],
    // The default params' encoding: thermometer bins in place of the scaled value, trained with L1.
    [
      'logistic',
      { epochs: 5, learning_rate: 0.1, l1: 0.01 },
      { min_category_count: 2, max_categories: 10, numeric_bins: 6, bin_encoding: 'thermometer', scaled: false },
    ],
    [
      'mlp',
      { epochs: 5, learning_rate: 0.05, hidden: [8], l1: 0.01 },
      { min_category_count: 2, max_categories: 10, numeric_bins: 6, bin_encoding: 'thermometer', scaled: false },
    ],
  ])('%s: the runtime reproduces tfjs predictions (%j, %j)', async (family, hp, options) => {
    const { tf } = await loadTf();
    const prep = fitPreprocessing(rows, SYNTHETIC_FEATURES, options);
    if (options.scaled === false)
      expect(
        prep.columns.some((c) => c.kind === 'numeric' && c.bin_encoding === 'thermometer' && c.scaled === false),
      ).toBe(true);
    const encoder = createEncoder(prep);
    const x = encoder.encode(rows);
    const net = trainNetwork(tf, family, resolveParams(family, hp), x, y, encoder.width, 7);
    const expected = predictNetwork(tf, net, x, rows.length);
    const artifacts = await networkArtifacts(tf, net);
    net.model.dispose();
    const version = newVersionId(new Date(Date.UTC(2024, 0, 1) + counter++ * 86_400_000));
    await writeModelVersion(dir, card(version, family, prep, [...SYNTHETIC_FEATURES]), artifacts);

    const loaded = await loadModel(dir, version);
    const got = loaded.predict(rows);
    let maxDiff = 0;
    for (let i = 0; i < rows.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // The predictions are not a constant: the round trip compares something real.
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.05);

    // The files are standard tfjs artifacts: tfjs itself loads them and agrees too.
    const modelJson = JSON.parse(
      fs.readFileSync(path.join(dir, 'models', version, 'model.json'), 'utf8'),
    ) as LayersModelJson;
    const weights = fs.readFileSync(path.join(dir, 'models', version, 'weights.bin'));
    const reloaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0]!.weights as never,
        weightData: new Uint8Array(weights).buffer,
      }),
    );
    const again = tf.tidy(() =>
      (reloaded.predict(tf.tensor2d(x, [rows.length, encoder.width])) as import('@tensorflow/tfjs').Tensor).dataSync(),
    );
    reloaded.dispose();
    for (let i = 0; i < rows.length; i++) expect(Math.abs(again[i]! - expected[i]!)).toBeLessThan(1e-6);

    if (family === 'logistic') {
      // Contributions are the logit terms: their sum plus the bias is the model's logit.
      const c = loaded.contributions(rows[0]!)!;
      const bias = new Float32Array(new Uint8Array(weights).buffer).at(-1)!;
      const logit = Object.values(c).reduce((a, b) => a + b, 0) + bias;
      expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(expected[0]!, 5);
    } else {
      expect(loaded.contributions(rows[0]!)).toBeNull();
    }
    // The serving path's one-encoding score gives exactly predict's probabilities and contributions' terms.
    const scored = loaded.score(rows, true);
    expect(Array.from(scored.probabilities)).toEqual(Array.from(got));
    expect(scored.contributions).toEqual(rows.map((r) => loaded.contributions(r)));
    expect(loaded.score(rows, false).contributions).toBeNull();
  });

  it('prior and rule baselines load through the same call and score as in training', async () => {
    const rule = [
      { feature: 'day_min_available_ratio', op: '<' as const, value: 0.2 },
      { feature: 'is_essential', op: '==' as const, value: false },
    ];
    const vp = newVersionId(new Date('2024-02-01T00:00:00Z'));
    const vr = newVersionId(new Date('2024-02-02T00:00:00Z'));
    await writeModelVersion(
      dir,
      card(vp, 'prior', { none: true }, []),
      baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: 0.07 }),
    );
    await writeModelVersion(
      dir,
      {
        ...card(vr, 'rule', { none: true }, ['day_min_available_ratio', 'is_essential']),
        calibration: { method: 'isotonic', x: [0, 1], y: [0.03, 0.6] },
      },
      baselineArtifacts({ format: 'bolsillo-baseline', family: 'rule', all: rule }),
    );
    const prior = await loadModel(dir, vp);
    const ruleModel = await loadModel(dir, vr);
    expect(Array.from(prior.predict(rows.slice(0, 3)))).toEqual([0.07, 0.07, 0.07]);
    const got = ruleModel.predict(rows);
    rows.forEach((r, i) => expect(got[i]).toBe(ruleScore(rule, r) ? 0.6 : 0.03));
    expect(new Set(got).size).toBe(2);
  });
});
