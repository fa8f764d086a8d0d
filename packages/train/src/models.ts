import { seededRandom } from '@bolsillo/core';
import { type LayersModelJson, type ModelArtifacts, type Tf, type WeightSpec } from '@bolsillo/model';
import type { HyperParams } from './params';

/** Hyper-parameters with every default filled in. */
export interface ResolvedParams {
  readonly learning_rate: number;
  readonly epochs: number;
  readonly batch_size: number;
  readonly l2: number;
  /** L1 penalty on the kernels (lasso): drives the weights of uninformative inputs towards zero. */
  readonly l1: number;
  readonly hidden: readonly number[];
  readonly class_weight: 'none' | 'balanced' | number;
  readonly group_weight: 'none' | 'balanced';
  /** Cap on optimiser steps (epochs are cut to fit; 0 = no cap), so large inputs cost a bounded time. */
  readonly max_steps: number;
  /** Stop when the validation loss has not improved for this many steps (checked after each epoch; 0 = no early stopping). */
  readonly early_stopping_steps: number;
  /** Share of training customers held out (as whole groups) as the early-stopping validation fold. */
  readonly validation_fraction: number;
  /** Least customers with a positive in that fold for early stopping; with fewer, the whole step budget trains on every row. */
  readonly early_stopping_min_positive_customers: number;
}

/** Fill defaults; `logistic` ignores `hidden`. */
export function resolveParams(family: 'logistic' | 'mlp', p: HyperParams): ResolvedParams {
  return {
    learning_rate: p.learning_rate ?? 0.02,
    epochs: p.epochs ?? 30,
    batch_size: p.batch_size ?? 1024,
    l2: p.l2 ?? 0,
    l1: p.l1 ?? 0,
    hidden: family === 'mlp' ? (p.hidden ?? [16]) : [],
    class_weight: p.class_weight ?? 'none',
    group_weight: p.group_weight ?? 'none',
    max_steps: p.max_steps ?? 0,
    early_stopping_steps: p.early_stopping_steps ?? 0,
    validation_fraction: p.validation_fraction ?? 0.2,
    early_stopping_min_positive_customers: p.early_stopping_min_positive_customers ?? 5,
  };
}

/** Positive and negative sample weights for a class-weight setting ('balanced' = n / (2 · class count)). */
export function classWeights(
  y: ArrayLike<number>,
  setting: ResolvedParams['class_weight'],
): { pos: number; neg: number } {
  if (setting === 'none') return { pos: 1, neg: 1 };
  if (typeof setting === 'number') return { pos: setting, neg: 1 };
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] ? 1 : 0;
  const neg = y.length - pos;
  return pos && neg ? { pos: y.length / (2 * pos), neg: y.length / (2 * neg) } : { pos: 1, neg: 1 };
}

/** A trained tfjs model with what is needed to predict and save it. */
export interface TrainedNetwork {
  readonly model: import('@tensorflow/tfjs').Sequential;
  readonly width: number;
  /** Optimiser steps of the weights kept (the best validation epoch with early stopping, else all). */
  readonly steps: number;
  /** Validation loss after each epoch (empty without a validation set). */
  readonly valid_loss: number[];
}

/**
 * Build a dense network (`tf.sequential` + `tf.layers.dense`): logistic = one sigmoid unit, MLP =
 * relu hidden layers then a sigmoid unit (a linear unit followed by a sigmoid activation layer). Initialisers are seeded so a run is reproducible.
 */
export function buildNetwork(tf: Tf, family: 'logistic' | 'mlp', p: ResolvedParams, width: number, seed: number) {
  const model = tf.sequential();
  const sizes = family === 'mlp' ? p.hidden : [];
  sizes.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        name: `hidden_${i + 1}`,
        kernelInitializer: tf.initializers.heUniform({ seed: seed + i }),
        ...(i === 0 ? { inputShape: [width] } : {}),
      }),
    );
  });
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'linear',
      name: 'logit',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 101 }),
      ...(sizes.length === 0 ? { inputShape: [width] } : {}),
    }),
  );
  // A separate sigmoid layer: training takes the loss on the logits (numerically stable, fewer ops).
  model.add(tf.layers.activation({ activation: 'sigmoid', name: 'probability' }));
  return model;
}

/**
 * Train with mini-batch Adam on class-weighted binary cross-entropy plus L2 on the kernels. The
 * epoch shuffles come from a seeded generator (tfjs `fit` would use Math.random), so the same seed
 * and data give the same model. With `valid` and `early_stopping_steps`, the class-weighted loss
 * on the validation rows is taken after every epoch; training stops when it has not improved for
 * that many steps and the weights of the best epoch are kept. `steps` fixes the number of steps
 * instead (whole epochs, at least one).
 */
export function trainNetwork(
  tf: Tf,
  family: 'logistic' | 'mlp',
  p: ResolvedParams,
  x: Float32Array,
  y: Float32Array,
  width: number,
  seed: number,
  rowWeights?: Float32Array,
  options: { valid?: { x: Float32Array; y: Float32Array }; steps?: number } = {},
): TrainedNetwork {
  const n = y.length;
  const model = buildNetwork(tf, family, p, width, seed);
  const { pos, neg } = classWeights(y, p.class_weight);
  const optimizer = tf.train.adam(p.learning_rate);
  const rand = seededRandom(seed + 7);
  // Row weights: class weight times the optional per-row (group) weight, normalised to mean 1 so the
  // learning rate means the same whatever the weighting.
  const w = Float32Array.from(y, (v, i) => (v ? pos : neg) * (rowWeights ? rowWeights[i]! : 1));
  let wSum = 0;
  for (let i = 0; i < n; i++) wSum += w[i]!;
  if (wSum > 0) for (let i = 0; i < n; i++) w[i] = (w[i]! * n) / wSum;
  const kernels = model.trainableWeights.filter((v) => v.name.includes('kernel')).map((v) => v.read());
  const batch = Math.min(p.batch_size, n);
  const batches = Math.ceil(n / batch);
  const epochs =
    options.steps !== undefined
      ? Math.max(1, Math.min(p.epochs, Math.round(options.steps / batches)))
      : p.max_steps > 0
        ? Math.max(1, Math.min(p.epochs, Math.floor(p.max_steps / batches)))
        : p.epochs;
  const valid = options.steps === undefined && p.early_stopping_steps > 0 ? (options.valid ?? null) : null;
  // The dense stack's variables, used directly: Layer.apply adds several ms of bookkeeping per step.
  const dense = model.layers.slice(0, -1).map((layer) => {
    const [kernel, bias] = layer.trainableWeights.map((v) => v.read());
    return { kernel: kernel!, bias: bias!, relu: layer.name.startsWith('hidden_'), units: kernel!.shape[1] ?? 1 };
  });
  type T = import('@tensorflow/tfjs').Tensor;
  // A first layer of several units takes its kernel gradient (xᵀ·dz) from the batch's transpose:
  // tfjs derives it as a product with a transposed left operand, which the wasm backend computes
  // without its fast matrix kernel (several times slower; for one unit it is a cheap vector
  // product). The batch is an input, not a variable: it needs no gradient.
  const transposed = (dense[0]?.units ?? 1) > 1;
  const firstLayer = (xb: T, xbT: T | null, kernel: T) =>
    xbT
      ? tf.customGrad((...inputs) => ({
          value: tf.matMul(xb, inputs[0] as T),
          gradFunc: (dz: T) => tf.matMul(xbT, dz),
        }))(kernel)
      : tf.matMul(xb, kernel);
  // Weighted, numerically stable binary cross-entropy on the logits, written with elementary ops:
  // tfjs's sigmoidCrossEntropy with weights costs several times more per step on wasm.
  const step = (xb: T, xbT: T | null, yb: T, wb: T, wTotal: number) =>
    optimizer.minimize(() => {
      let z = xb;
      dense.forEach((d, i) => {
        z = (i === 0 ? firstLayer(xb, xbT, d.kernel) : tf.matMul(z, d.kernel)).add(d.bias);
        if (d.relu) z = tf.relu(z);
      });
      const ce = tf
        .relu(z)
        .sub(z.mul(yb))
        .add(tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      let loss = ce.mul(wb).sum().div(wTotal) as import('@tensorflow/tfjs').Scalar;
      if (p.l2 > 0)
        for (const k of kernels) loss = loss.add(k.square().sum().mul(p.l2)) as import('@tensorflow/tfjs').Scalar;
      if (p.l1 > 0)
        for (const k of kernels) loss = loss.add(k.abs().sum().mul(p.l1)) as import('@tensorflow/tfjs').Scalar;
      return loss;
    });
  type V = import('@tensorflow/tfjs').Variable;
  const variables = dense.flatMap((d) => [d.kernel, d.bias]) as V[];
  // Validation rows, class-weighted as in training; the loss is watched after every epoch.
  const watch = valid
    ? (() => {
        const nv = valid.y.length;
        const wv = Float32Array.from(valid.y, (v) => (v ? pos : neg));
        let wvSum = 0;
        for (let i = 0; i < nv; i++) wvSum += wv[i]!;
        return {
          X: tf.tensor2d(valid.x, [nv, width]),
          Y: tf.tensor2d(valid.y, [nv, 1]),
          W: tf.tensor2d(wv, [nv, 1]),
          wSum: Math.max(wvSum, 1e-12),
        };
      })()
    : null;
  const validLoss = (v: NonNullable<typeof watch>) =>
    tf.tidy(() => {
      let z: T = v.X;
      for (const d of dense) {
        z = tf.matMul(z, d.kernel).add(d.bias);
        if (d.relu) z = tf.relu(z);
      }
      const ce = tf
        .relu(z)
        .sub(z.mul(v.Y))
        .add(tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      return ce.mul(v.W).sum().dataSync()[0]! / v.wSum;
    });
  const losses: number[] = [];
  let best: { loss: number; epoch: number; values: T[] } | null = null;
  let ran = 0;
  const full =
    batches === 1
      ? {
          X: tf.tensor2d(x, [n, width]),
          XT: transposed ? tf.tensor2d(transpose(x, n, width), [width, n]) : null,
          Y: tf.tensor2d(y, [n, 1]),
          W: tf.tensor2d(w, [n, 1]),
        }
      : null;
  // Mini-batches: a seeded shuffle (tfjs `fit` would use Math.random) done in JS, batches uploaded
  // as fresh tensors (cheaper than gather + slice on the backends).
  const perm = new Int32Array(full ? 0 : n);
  const xs = new Float32Array(full ? 0 : n * width);
  const xsT = transposed && !full ? new Float32Array(batch * width) : null;
  const ys = new Float32Array(full ? 0 : n);
  const ws = new Float32Array(full ? 0 : n);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (full) {
        // Full batch: no shuffling, the tensors are built once.
        tf.tidy(() => void step(full.X, full.XT, full.Y, full.W, n));
      } else {
        for (let i = 0; i < n; i++) perm[i] = i;
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        for (let i = 0; i < n; i++) {
          const r = perm[i]!;
          for (let f = 0, a = r * width, b = i * width; f < width; f++) xs[b + f] = x[a + f]!;
          ys[i] = y[r]!;
          ws[i] = w[r]!;
        }
        for (let start = 0; start < n; start += batch) {
          const size = Math.min(batch, n - start);
          tf.tidy(() => {
            const rowsOf = xs.subarray(start * width, (start + size) * width);
            const xb = tf.tensor2d(rowsOf, [size, width]);
            const xbT = xsT ? tf.tensor2d(transpose(rowsOf, size, width, xsT), [width, size]) : null;
            const yb = tf.tensor2d(ys.subarray(start, start + size), [size, 1]);
            const wb = tf.tensor2d(ws.subarray(start, start + size), [size, 1]);
            step(xb, xbT, yb, wb, size);
          });
        }
      }
      ran = epoch + 1;
      if (!watch) continue;
      const loss = validLoss(watch);
      losses.push(loss);
      if (best === null || loss < best.loss - 1e-12) {
        for (const t of best?.values ?? []) t.dispose();
        best = { loss, epoch: ran, values: variables.map((v) => v.clone()) };
      } else if ((ran - best.epoch) * batches >= p.early_stopping_steps) break;
    }
    // Early stopping keeps the weights of the best epoch.
    if (best && best.epoch < ran) variables.forEach((v, i) => v.assign(best!.values[i]!));
  } finally {
    optimizer.dispose();
    for (const t of [...(best?.values ?? []), ...Object.values(full ?? {}), ...Object.values(watch ?? {})])
      if (t && typeof t === 'object') t.dispose();
  }
  return { model, width, steps: (best ? best.epoch : ran) * batches, valid_loss: losses };
}

/** The transpose of `n` row-major rows of `width` values (column-major), into `out` when given. */
function transpose(x: Float32Array, n: number, width: number, out?: Float32Array): Float32Array {
  const t = out ? out.subarray(0, n * width) : new Float32Array(n * width);
  let r = 0;
  // Eight rows at a time: each input's eight values are written side by side (a few times faster
  // than one row at a time, whose writes are all a column apart).
  for (; r + 8 <= n; r += 8) {
    const a = r * width;
    for (let f = 0, o = r; f < width; f++, o += n) {
      const s = a + f;
      t[o] = x[s]!;
      t[o + 1] = x[s + width]!;
      t[o + 2] = x[s + 2 * width]!;
      t[o + 3] = x[s + 3 * width]!;
      t[o + 4] = x[s + 4 * width]!;
      t[o + 5] = x[s + 5 * width]!;
      t[o + 6] = x[s + 6 * width]!;
      t[o + 7] = x[s + 7 * width]!;
    }
  }
  for (; r < n; r++) for (let f = 0; f < width; f++) t[f * n + r] = x[r * width + f]!;
  return t;
}

/** Raw probabilities of a trained network (tfjs, batched, tensors disposed). */
export function predictNetwork(tf: Tf, net: TrainedNetwork, x: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  const chunk = 65536;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const values = tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(start * net.width, (start + size) * net.width), [size, net.width]);
      // One batch: `predict` would cut the rows into batches of 32, each a copy.
      return (net.model.predictOnBatch(xb) as import('@tensorflow/tfjs').Tensor).dataSync();
    });
    out.set(values, start);
  }
  return out;
}

/** Save a tfjs model through a custom IO handler into `model.json` content and `weights.bin` bytes (no pickles). */
export async function networkArtifacts(tf: Tf, net: TrainedNetwork): Promise<ModelArtifacts> {
  let captured: ModelArtifacts | undefined;
  await net.model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const weights = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) {
        weights.set(new Uint8Array(b), off);
        off += b.byteLength;
      }
      const modelJson: LayersModelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: a.modelTopology as Record<string, unknown>,
        weightsManifest: [{ paths: ['weights.bin'], weights: (a.weightSpecs ?? []) as WeightSpec[] }],
      };
      captured = { modelJson, weights };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON', weightDataBytes: total } };
    }),
  );
  if (!captured) throw new Error('tfjs save handler was not called');
  return captured;
}
