/**
 * Gradient-boosted decision trees as data: the `model.json` format of the `gbdt` family and its
 * scorer. A model is a base logit plus trees stored as parallel arrays; scoring a row is a plain
 * loop over the trees (no tfjs, nothing executable in the file).
 */

/**
 * One tree as parallel arrays indexed by node (node 0 is the root). An internal node sends a row to
 * `left` when its input `feature` is below `threshold` (not below, or NaN: `right`); a leaf has
 * `left = right = feature = -1`. `value` is every node's contribution to the logit were it a leaf
 * (learning rate applied): the leaves' values are the prediction, the internal ones explain it.
 */
export interface TreeJson {
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  readonly value: readonly number[];
}

/** `model.json` of a gradient-boosted trees model: logit = `base_score` + the sum of one leaf value per tree. */
export interface TreeEnsembleJson {
  readonly format: 'bolsillo-gbdt';
  readonly objective: 'binary:logistic';
  /** Encoded inputs the trees index (the preprocessing's width). */
  readonly n_inputs: number;
  readonly base_score: number;
  readonly trees: readonly TreeJson[];
}

/** Trees packed into flat typed arrays for scoring; node ids are global, `roots[t]` is tree t's root. */
export interface CompiledEnsemble {
  readonly inputs: number;
  readonly base: number;
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
}

/**
 * Check a tree ensemble's structure and pack it. Refuses anything a loop could not score safely:
 * arrays of different lengths, children that do not point forward inside their tree (so every walk
 * ends), inputs outside `n_inputs`, non-finite numbers.
 */
export function compileTreeEnsemble(model: TreeEnsembleJson): CompiledEnsemble {
  if (model.format !== 'bolsillo-gbdt') throw new Error(`tree ensemble: format ${String(model.format)}`);
  if (model.objective !== 'binary:logistic')
    throw new Error(`tree ensemble: unsupported objective ${String(model.objective)}`);
  const inputs = model.n_inputs;
  if (!Number.isInteger(inputs) || inputs < 1) throw new Error(`tree ensemble: n_inputs ${inputs}`);
  if (!Number.isFinite(model.base_score)) throw new Error('tree ensemble: base_score is not finite');
  let total = 0;
  for (const t of model.trees) total += t.value.length;
  const roots = new Int32Array(model.trees.length);
  const feature = new Int32Array(total);
  const threshold = new Float64Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const value = new Float64Array(total);
  let at = 0;
  model.trees.forEach((t, ti) => {
    const n = t.value.length;
    if (n === 0 || t.feature.length !== n || t.threshold.length !== n || t.left.length !== n || t.right.length !== n) {
      throw new Error(`tree ensemble: tree ${ti} has arrays of different lengths (or none)`);
    }
    roots[ti] = at;
    for (let i = 0; i < n; i++) {
      const f = t.feature[i]!;
      const l = t.left[i]!;
      const r = t.right[i]!;
      if (!Number.isFinite(t.value[i]!)) throw new Error(`tree ensemble: tree ${ti} node ${i} value is not finite`);
      if (l === -1 && r === -1 && f === -1) {
        feature[at + i] = -1;
        left[at + i] = -1;
        right[at + i] = -1;
      } else {
        if (!Number.isInteger(f) || f < 0 || f >= inputs)
          throw new Error(`tree ensemble: tree ${ti} node ${i} input ${f} outside 0..${inputs - 1}`);
        if (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= n || r >= n)
          throw new Error(`tree ensemble: tree ${ti} node ${i} children ${l}, ${r} must point forward inside the tree`);
        if (Number.isNaN(t.threshold[i]!)) throw new Error(`tree ensemble: tree ${ti} node ${i} threshold is NaN`);
        feature[at + i] = f;
        left[at + i] = at + l;
        right[at + i] = at + r;
      }
      threshold[at + i] = t.threshold[i]!;
      value[at + i] = t.value[i]!;
    }
    at += n;
  });
  return { inputs, base: model.base_score, roots, feature, threshold, left, right, value };
}

/** Logits of `n` row-major encoded rows (`inputs` columns each). */
export function treeLogits(e: CompiledEnsemble, x: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  const { roots, feature, threshold, left, right, value, inputs } = e;
  for (let r = 0; r < n; r++) {
    const base = r * inputs;
    let s = e.base;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t]!;
      let f = feature[node]!;
      while (f >= 0) {
        node = x[base + f]! < threshold[node]! ? left[node]! : right[node]!;
        f = feature[node]!;
      }
      s += value[node]!;
    }
    out[r] = s;
  }
  return out;
}

/**
 * Path contributions of one row (Saabas): each split's change of node value is credited to its
 * input, so `bias + Σ contributions` is the row's logit. Adds into `out` (one slot per input) and
 * returns the bias (base score plus the roots' values).
 */
export function treeContributions(e: CompiledEnsemble, x: Float32Array, row: number, out: Float64Array): number {
  const { roots, feature, threshold, left, right, value, inputs } = e;
  const base = row * inputs;
  let bias = e.base;
  for (let t = 0; t < roots.length; t++) {
    let node = roots[t]!;
    bias += value[node]!;
    let f = feature[node]!;
    while (f >= 0) {
      const next = x[base + f]! < threshold[node]! ? left[node]! : right[node]!;
      out[f] = out[f]! + value[next]! - value[node]!;
      node = next;
      f = feature[node]!;
    }
  }
  return bias;
}
