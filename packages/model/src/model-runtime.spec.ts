import type { Preprocessing } from '@bolsillo/schema';
import { featureScore, ruleScore, type FeatureScorerJson } from './artifacts';
import { calibrate } from './calibration';
import { createEncoder } from './preprocessing';
import { forwardDense, readDenseNetwork } from './network';

describe('preprocessing encoder', () => {
  const prep: Preprocessing = {
    columns: [
      { name: 'x', kind: 'numeric', mean: 10, std: 2, missing_indicator: true },
      { name: 'b', kind: 'boolean' },
      { name: 'c', kind: 'category', vocabulary: ['A', 'B'] },
    ],
    width: 6,
    encoded_names: ['x', 'x__missing', 'b', 'c=A', 'c=B', 'c=__oov__'],
  };
  it('standardises, flags and fills missing numbers, encodes booleans and sends unseen categories to the OOV column', () => {
    const e = createEncoder(prep);
    expect(e.names).toEqual(prep.encoded_names);
    const out = Array.from(e.encode([{ x: 14, b: true, c: 'B' }, { x: null, b: false, c: 'Z' }, { c: null }]));
    expect(out).toEqual([2, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
  });
  it('one-hot encodes numeric bins from stored edges (none when missing)', () => {
    const e = createEncoder({
      columns: [{ name: 'r', kind: 'numeric', mean: 0, std: 1, missing_indicator: true, bin_edges: [0.2, 0.5] }],
      width: 5,
      encoded_names: ['r', 'r__missing', 'r#bin0<0.2', 'r#bin1<0.5', 'r#bin2<Infinity'],
    });
    expect(e.names).toEqual(['r', 'r__missing', 'r#bin0<0.2', 'r#bin1<0.5', 'r#bin2<Infinity']);
    expect(Array.from(e.encode([{ r: 0.1 }, { r: 0.2 }, { r: 0.9 }, { r: null }]))).toEqual(
      [0.1, 0, 1, 0, 0, 0.2, 0, 0, 1, 0, 0.9, 0, 0, 0, 1, 0, 1, 0, 0, 0].map((v) => Math.fround(v)),
    );
  });
  it('thermometer bins without the scaled value: one cumulative column per edge passed (none when missing)', () => {
    const e = createEncoder({
      columns: [
        {
          name: 'r',
          kind: 'numeric',
          mean: 0,
          std: 1,
          missing_indicator: true,
          bin_edges: [0.2, 0.5],
          bin_encoding: 'thermometer',
          scaled: false,
        },
      ],
      width: 3,
      encoded_names: ['r__missing', 'r#bin0>=0.2', 'r#bin1>=0.5'],
    });
    expect(e.names).toEqual(['r__missing', 'r#bin0>=0.2', 'r#bin1>=0.5']);
    expect(Array.from(e.encode([{ r: 0.1 }, { r: 0.2 }, { r: 0.9 }, { r: null }]))).toEqual([
      0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0,
    ]);
  });
  it('encodes a column batch exactly as the same rows as objects (NaN and null both missing)', () => {
    const e = createEncoder(prep);
    const rows = [{ x: 14, b: true, c: 'B' }, { x: null, b: false, c: 'Z' }, { c: null }, { x: 9.5, b: null, c: 'A' }];
    const columns: Record<string, ArrayLike<unknown>> = {
      x: Float64Array.from([14, NaN, NaN, 9.5]),
      b: [true, false, undefined, null],
      c: ['B', 'Z', null, 'A'],
    };
    expect(Array.from(e.encodeColumns({ length: 4, column: (n) => columns[n] }))).toEqual(Array.from(e.encode(rows)));
  });
  it('refuses state whose width does not match its columns', () => {
    expect(() => createEncoder({ ...prep, width: 5 })).toThrow(/width/);
  });
});

describe('calibration and rules', () => {
  it('interpolates isotonic knots and clamps outside them', () => {
    const cal = { method: 'isotonic' as const, x: [0.1, 0.5, 0.9], y: [0, 0.5, 1] };
    expect(calibrate(cal, 0)).toBe(0);
    expect(calibrate(cal, 0.3)).toBeCloseTo(0.25, 12);
    expect(calibrate(cal, 0.95)).toBe(1);
    expect(calibrate({ method: 'platt', a: 1, b: 0 }, 0.3)).toBeCloseTo(0.3, 6);
  });
  it('scores a rule only when every condition holds and never on a missing value', () => {
    const rule = [
      { feature: 'r', op: '<' as const, value: 0.2 },
      { feature: 'e', op: '==' as const, value: false },
    ];
    expect(
      [
        { r: 0.1, e: false },
        { r: 0.1, e: true },
        { r: 0.3, e: false },
        { r: null, e: false },
      ].map((row) => ruleScore(rule, row)),
    ).toEqual([1, 0, 0, 0]);
  });
});

describe('single-feature scorer', () => {
  const graded: FeatureScorerJson = {
    format: 'bolsillo-baseline',
    family: 'feature',
    feature: 'r',
    direction: 'lower',
    threshold: null,
    center: -0.5,
    scale: 0.25,
    a: 2,
    b: -1,
    missing_probability: 0.05,
  };
  it('ranks by the signed feature (lower ratio, higher risk) and scores a missing value with its own probability', () => {
    const p = [0.05, 0.3, 0.9].map((r) => featureScore(graded, { r }));
    expect(p[0]).toBeGreaterThan(p[1]!);
    expect(p[1]).toBeGreaterThan(p[2]!);
    // t = -0.3, z = 2 * (-0.3 + 0.5) / 0.25 - 1 = 0.6
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-0.6)), 12);
    expect(featureScore(graded, { r: null })).toBe(0.05);
    expect(featureScore(graded, {})).toBe(0.05);
  });
  it('as a binary rule gives one probability beyond the threshold and one below', () => {
    const rule: FeatureScorerJson = { ...graded, threshold: 0.2, center: 0, scale: 1, a: 3, b: -2 };
    expect(featureScore(rule, { r: 0.19 })).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(featureScore(rule, { r: 0.2 })).toBeCloseTo(1 / (1 + Math.exp(2)), 12);
    const persistence: FeatureScorerJson = { ...rule, feature: 'n', direction: 'higher', threshold: 0 };
    expect(featureScore(persistence, { n: 1 })).toBeGreaterThan(featureScore(persistence, { n: 0 }));
    expect(featureScore(persistence, { n: true })).toBe(featureScore(persistence, { n: 1 }));
  });
});

describe('dense network runtime', () => {
  it('reads a tfjs-format topology and weights and evaluates it', () => {
    const kernel1 = [1, -1, 0.5, 2]; // [2 inputs, 2 units]
    const bias1 = [0, 1];
    const kernel2 = [1, 1];
    const bias2 = [-1];
    const weights = new Uint8Array(Float32Array.from([...kernel1, ...bias1, ...kernel2, ...bias2]).buffer);
    const layers = readDenseNetwork(
      {
        format: 'layers-model',
        generatedBy: 'test',
        convertedBy: null,
        modelTopology: {
          class_name: 'Sequential',
          config: {
            layers: [
              { class_name: 'Dense', config: { name: 'h', units: 2, activation: 'relu', use_bias: true } },
              { class_name: 'Dense', config: { name: 'o', units: 1, activation: 'linear', use_bias: true } },
              { class_name: 'Activation', config: { name: 'p', activation: 'sigmoid' } },
            ],
          },
        },
        weightsManifest: [
          {
            paths: ['weights.bin'],
            weights: [
              { name: 'h/kernel', shape: [2, 2], dtype: 'float32' },
              { name: 'h/bias', shape: [2], dtype: 'float32' },
              { name: 'o/kernel_1', shape: [2, 1], dtype: 'float32' },
              { name: 'o/bias_1', shape: [1], dtype: 'float32' },
            ],
          },
        ],
      },
      weights,
    );
    // x = [1, 2]: hidden = relu([1 + 1, -1 + 4 + 1]) = [2, 4]; logit = 2 + 4 - 1 = 5.
    const out = forwardDense(layers, Float32Array.from([1, 2]), 1);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(-5)), 6);
    expect(() =>
      readDenseNetwork(
        {
          format: 'layers-model',
          generatedBy: '',
          convertedBy: null,
          modelTopology: { class_name: 'Sequential', config: { layers: [] } },
          weightsManifest: [],
        },
        new Uint8Array(4),
      ),
    ).toThrow(/bytes/);
  });
});
