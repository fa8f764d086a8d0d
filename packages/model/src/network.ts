import type { LayersModelJson } from './artifacts';

/** Activations the runtime evaluates (the ones training uses). */
export type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'elu';

const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'sigmoid', 'tanh', 'elu'];

/** A dense layer read from `weights.bin`: kernel row-major `[inputs, units]`. */
export interface DenseLayer {
  readonly name: string;
  readonly inputs: number;
  readonly units: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array | null;
  readonly activation: Activation;
}

interface TopologyLayer {
  class_name: string;
  config: { name: string; units?: number; activation?: string; use_bias?: boolean };
}

function topologyLayers(topology: Record<string, unknown>): TopologyLayer[] {
  // tfjs writes either { class_name: 'Sequential', config: { layers } } or a nested model_config.
  const root = ((topology.model_config as Record<string, unknown> | undefined) ?? topology) as {
    class_name?: string;
    config?: unknown;
  };
  const config = root.config as { layers?: TopologyLayer[] } | TopologyLayer[] | undefined;
  const layers = Array.isArray(config) ? config : config?.layers;
  if (root.class_name !== 'Sequential' || !layers)
    throw new Error(`model.json: only Sequential models are supported (got ${String(root.class_name)})`);
  return layers;
}

/**
 * Read a layers model's dense stack from its `model.json` and `weights.bin`. Dropout layers are
 * skipped (identity at inference), Activation layers fold into the dense layer before them; any other layer type is refused rather than silently ignored.
 */
export function readDenseNetwork(modelJson: LayersModelJson, weights: Uint8Array): DenseLayer[] {
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  // Copy into an aligned buffer: a Buffer slice may start at an offset not divisible by 4.
  const aligned = new Uint8Array(weights.byteLength);
  aligned.set(weights);
  const tensors: { name: string; shape: readonly number[]; data: Float32Array }[] = [];
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`weights.bin: unsupported dtype ${String(s.dtype)} for ${s.name}`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > aligned.byteLength) throw new Error(`weights.bin: too short for ${s.name}`);
    tensors.push({ name: s.name, shape: s.shape, data: new Float32Array(aligned.buffer, offset, size) });
    offset += size * 4;
  }
  if (offset !== aligned.byteLength)
    throw new Error(`weights.bin: ${aligned.byteLength} bytes but the manifest describes ${offset}`);
  // tfjs writes weights in layer order, kernel then bias; names may carry a uniqueness suffix (`output/kernel_1`), so go by order and check the kind.
  let next = 0;
  const take = (layer: string, kind: string, rank: number) => {
    const t = tensors[next++];
    if (!t || !t.name.includes(kind) || t.shape.length !== rank)
      throw new Error(`weights.bin: expected ${layer}/${kind}, found ${t?.name ?? 'nothing'}`);
    return t;
  };
  const out: DenseLayer[] = [];
  for (const l of topologyLayers(modelJson.modelTopology)) {
    if (l.class_name === 'Dropout' || l.class_name === 'InputLayer') continue;
    if (l.class_name === 'Activation') {
      // A separate activation layer (training computes the loss on the logits before it) folds into the dense layer it follows.
      const prev = out[out.length - 1];
      if (!prev || prev.activation !== 'linear')
        throw new Error(`model.json: activation layer ${l.config.name} must follow a linear dense layer`);
      const activation = (l.config.activation ?? 'linear') as Activation;
      if (!ACTIVATIONS.includes(activation)) throw new Error(`model.json: unsupported activation ${activation}`);
      out[out.length - 1] = { ...prev, activation };
      continue;
    }
    if (l.class_name !== 'Dense') throw new Error(`model.json: unsupported layer ${l.class_name}`);
    const kernel = take(l.config.name, 'kernel', 2);
    const units = kernel.shape[1]!;
    const bias = l.config.use_bias === false ? null : take(l.config.name, 'bias', 1).data;
    const activation = (l.config.activation ?? 'linear') as Activation;
    if (!ACTIVATIONS.includes(activation)) throw new Error(`model.json: unsupported activation ${activation}`);
    out.push({ name: l.config.name, inputs: kernel.shape[0]!, units, kernel: kernel.data, bias, activation });
  }
  if (next !== tensors.length) throw new Error(`weights.bin: ${tensors.length - next} weights not used by any layer`);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.inputs !== out[i - 1]!.units)
      throw new Error(`model.json: layer ${out[i]!.name} expects ${out[i]!.inputs} inputs, gets ${out[i - 1]!.units}`);
  }
  return out;
}

function activate(a: Activation, z: number): number {
  switch (a) {
    case 'relu':
      return z > 0 ? z : 0;
    case 'sigmoid':
      return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    case 'tanh':
      return Math.tanh(z);
    case 'elu':
      return z > 0 ? z : Math.exp(z) - 1;
    default:
      return z;
  }
}

/**
 * Forward pass of a dense stack over `n` row-major inputs: plain typed-array arithmetic, no tfjs.
 * Returns the last layer's outputs, row-major `[n, units]`.
 */
export function forwardDense(layers: readonly DenseLayer[], x: Float32Array, n: number): Float32Array {
  let cur = x;
  for (const layer of layers) {
    const { inputs, units, kernel, bias, activation } = layer;
    const next = new Float32Array(n * units);
    const acc = new Float64Array(units);
    for (let r = 0; r < n; r++) {
      if (bias) for (let j = 0; j < units; j++) acc[j] = bias[j]!;
      else acc.fill(0);
      const xo = r * inputs;
      for (let i = 0; i < inputs; i++) {
        const xi = cur[xo + i]!;
        if (xi === 0) continue;
        const ko = i * units;
        for (let j = 0; j < units; j++) acc[j]! += xi * kernel[ko + j]!;
      }
      const oo = r * units;
      for (let j = 0; j < units; j++) next[oo + j] = activate(activation, acc[j]!);
    }
    cur = next;
  }
  return cur;
}
