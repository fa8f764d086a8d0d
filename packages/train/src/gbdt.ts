import { seededRandom } from '@bolsillo/core';
import { compileTreeEnsemble, treeLogits, type TreeEnsembleJson, type TreeJson } from '@bolsillo/model';
import { classWeights } from './models';
import type { HyperParams } from './params';

/** Hyper-parameters of the gradient-boosted trees family with every default filled in. */
export interface GbdtParams {
  /** Shrinkage: each tree's leaf values are multiplied by it. */
  readonly learning_rate: number;
  /** Most boosting rounds (trees); early stopping may keep fewer. */
  readonly n_estimators: number;
  readonly max_depth: number;
  /** Most leaves per tree; trees grow best split first (leaf-wise) until this or max_depth. */
  readonly max_leaves: number;
  /** Least hessian sum in a child (second-order weight of its rows). */
  readonly min_child_weight: number;
  /** L2 penalty on leaf values. */
  readonly reg_lambda: number;
  /** Least loss reduction for a split. */
  readonly min_split_gain: number;
  /** Share of rows drawn (seeded) for each tree. */
  readonly subsample: number;
  /** Share of inputs drawn (seeded) for each tree. */
  readonly colsample: number;
  /** Most histogram bins per input (≤ 256). */
  readonly max_bins: number;
  readonly class_weight: 'none' | 'balanced' | number;
  /** Stop when the validation log loss has not improved for this many rounds (0 = no early stopping). */
  readonly early_stopping_rounds: number;
  /** Share of training customers held out (as whole groups) as the early-stopping validation fold. */
  readonly validation_fraction: number;
}

/** Fill the gbdt defaults. */
export function resolveGbdtParams(p: HyperParams): GbdtParams {
  return {
    learning_rate: p.learning_rate ?? 0.1,
    n_estimators: p.n_estimators ?? 300,
    max_depth: p.max_depth ?? 6,
    max_leaves: p.max_leaves ?? 31,
    min_child_weight: p.min_child_weight ?? 1,
    reg_lambda: p.reg_lambda ?? 1,
    min_split_gain: p.min_split_gain ?? 0,
    subsample: p.subsample ?? 1,
    colsample: p.colsample ?? 1,
    max_bins: Math.min(p.max_bins ?? 255, 256),
    class_weight: p.class_weight ?? 'none',
    early_stopping_rounds: p.early_stopping_rounds ?? 0,
    validation_fraction: p.validation_fraction ?? 0.2,
  };
}

/** Per input: the upper training value of every bin but the last, and the split threshold after each. */
export interface BinMapper {
  readonly width: number;
  readonly uppers: readonly Float64Array[];
  readonly thresholds: readonly Float64Array[];
  /** Start of each input's bins in a histogram, and the total bin count at the end. */
  readonly offsets: Int32Array;
}

/**
 * Quantile bins per input from `n` row-major rows: an input with at most `maxBins` distinct values
 * gets one bin per value; otherwise cut points at its quantiles. A split after bin b is stored as a
 * threshold halfway between the bin's highest value and the next value seen, so the model file's
 * `x < threshold` sends every training row where its bin went.
 */
export function fitBins(x: Float32Array, n: number, width: number, maxBins: number): BinMapper {
  const uppers: Float64Array[] = [];
  const thresholds: Float64Array[] = [];
  const offsets = new Int32Array(width + 1);
  const col = new Float32Array(n);
  for (let f = 0; f < width; f++) {
    for (let r = 0; r < n; r++) col[r] = x[r * width + f]!;
    col.sort();
    const distinct: number[] = [];
    for (let r = 0; r < n; r++) if (r === 0 || col[r] !== col[r - 1]) distinct.push(col[r]!);
    let cuts: number[];
    if (distinct.length <= maxBins) cuts = distinct.slice(0, -1);
    else {
      const set: number[] = [];
      for (let k = 1; k < maxBins; k++) {
        const v = col[Math.floor((k * n) / maxBins)]!;
        if (v < distinct[distinct.length - 1]! && (set.length === 0 || v > set[set.length - 1]!)) set.push(v);
      }
      cuts = set;
    }
    const up = Float64Array.from(cuts);
    const th = new Float64Array(up.length);
    let d = 0;
    for (let b = 0; b < up.length; b++) {
      while (distinct[d]! <= up[b]!) d++;
      th[b] = (up[b]! + distinct[d]!) / 2;
    }
    uppers.push(up);
    thresholds.push(th);
    offsets[f + 1] = offsets[f]! + up.length + 1;
  }
  return { width, uppers, thresholds, offsets };
}

/**
 * Bin codes of `n` row-major rows, row-major: bin = first b with x < thresholds[b], else the last
 * bin. Training values land in the bin they were counted in; unseen values fall where the model
 * file's thresholds send them.
 */
export function applyBins(m: BinMapper, x: Float32Array, n: number): Uint8Array {
  const w = m.width;
  const out = new Uint8Array(n * w);
  for (let f = 0; f < w; f++) {
    const up = m.thresholds[f]!;
    const nb = up.length;
    if (nb === 0) continue;
    for (let r = 0; r < n; r++) {
      const v = x[r * w + f]!;
      let lo = 0;
      let hi = nb;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v < up[mid]!) hi = mid;
        else lo = mid + 1;
      }
      out[r * w + f] = lo;
    }
  }
  return out;
}

/** A tree being grown: node arrays plus the bin of each split (for scoring binned rows). */
interface Builder {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
  bin: number[];
}

interface Leaf {
  node: number;
  begin: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array;
  gain: number;
  feature: number;
  bin: number;
}

/** Data for one fit: binned rows with labels and per-row weights. */
interface Binned {
  readonly n: number;
  readonly bins: Uint8Array;
  readonly y: Float32Array;
  readonly w: Float32Array;
}

/** What {@link trainGbdt} returns: the model (cut to the best round when early stopping ran) and its rounds. */
export interface TrainedGbdt {
  readonly model: TreeEnsembleJson;
  /** Rounds kept (the best validation round with early stopping, else all). */
  readonly rounds: number;
  /** Validation log loss per round (empty without a validation set). */
  readonly valid_loss: number[];
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Train gradient-boosted trees on the logistic loss, histogram-based (as LightGBM and xgboost
 * `hist`): inputs are cut into at most `max_bins` quantile bins once; each round takes first and
 * second derivatives of the (class-weighted) loss, grows one tree leaf-wise from per-leaf gradient
 * histograms (the larger child's histogram is its parent's minus the smaller one's), and adds it
 * with shrinkage. Rows and inputs are subsampled per tree from a seeded generator, so the same data,
 * params and seed give the same trees. With `valid` and `early_stopping_rounds`, training stops when
 * the validation log loss (same weights) has not improved for that many rounds and the model is cut
 * to its best round; `rounds` fixes the number of rounds instead.
 */
export function trainGbdt(
  x: Float32Array,
  y: Float32Array,
  width: number,
  p: GbdtParams,
  seed: number,
  options: { rowWeights?: Float32Array; valid?: { x: Float32Array; y: Float32Array }; rounds?: number } = {},
): TrainedGbdt {
  const n = y.length;
  const mapper = fitBins(x, n, width, p.max_bins);
  const { pos, neg } = classWeights(y, p.class_weight);
  const weights = (yy: Float32Array, rw?: Float32Array) =>
    Float32Array.from(yy, (v, i) => (v ? pos : neg) * (rw ? rw[i]! : 1));
  const train: Binned = { n, bins: applyBins(mapper, x, n), y, w: weights(y, options.rowWeights) };
  const valid: Binned | null =
    options.valid && options.rounds === undefined
      ? {
          n: options.valid.y.length,
          bins: applyBins(mapper, options.valid.x, options.valid.y.length),
          y: options.valid.y,
          w: weights(options.valid.y),
        }
      : null;
  const maxRounds = options.rounds ?? p.n_estimators;
  const patience = valid ? p.early_stopping_rounds : 0;

  // Base score: the weighted log-odds of the positive class.
  let wp = 0;
  let wt = 0;
  for (let i = 0; i < n; i++) {
    wt += train.w[i]!;
    if (y[i]) wp += train.w[i]!;
  }
  const prior = wt > 0 ? Math.min(Math.max(wp / wt, 1e-6), 1 - 1e-6) : 0.5;
  const base = Math.log(prior / (1 - prior));

  const totalBins = mapper.offsets[width]!;
  const offsets = mapper.offsets;
  const rand = seededRandom(seed);
  const F = new Float64Array(n).fill(base);
  const Fv = valid ? new Float64Array(valid.n).fill(base) : null;
  // First and second derivatives of each row, side by side (a histogram update reads both).
  const gh = new Float64Array(2 * n);
  const inSample = new Uint8Array(n);
  const rows = new Int32Array(n);
  const scratch = new Int32Array(n);
  const pool: Float64Array[] = [];
  const takeHist = () => pool.pop()?.fill(0) ?? new Float64Array(totalBins * 2);
  const allFeatures = Int32Array.from({ length: width }, (_, i) => i);
  const nCols = Math.max(1, Math.round(p.colsample * width));
  const trees: TreeJson[] = [];
  const validLoss: number[] = [];
  let best = Infinity;
  let bestRound = 0;
  const lambda = p.reg_lambda;
  const leafValue = (g: number, h: number) => (-g / (h + lambda)) * p.learning_rate;

  // Sparse rows: each input's most frequent bin (0 for a one-hot column) is left out of the row
  // lists, and its histogram slot is filled afterwards as the leaf's total minus the other bins.
  const defaults = new Int32Array(width);
  const rowStart = new Int32Array(n + 1);
  {
    const counts = new Int32Array(totalBins);
    for (let r = 0; r < n; r++) for (let f = 0; f < width; f++) counts[offsets[f]! + train.bins[r * width + f]!]!++;
    for (let f = 0; f < width; f++) {
      let best = 0;
      for (let b = 1; b < offsets[f + 1]! - offsets[f]!; b++)
        if (counts[offsets[f]! + b]! > counts[offsets[f]! + best]!) best = b;
      defaults[f] = best;
    }
    for (let r = 0; r < n; r++) {
      let k = 0;
      for (let f = 0; f < width; f++) if (train.bins[r * width + f] !== defaults[f]) k++;
      rowStart[r + 1] = rowStart[r]! + k;
    }
  }
  const entries = new Int32Array(rowStart[n]!);
  for (let r = 0, k = 0; r < n; r++)
    for (let f = 0; f < width; f++)
      if (train.bins[r * width + f] !== defaults[f]) entries[k++] = (offsets[f]! + train.bins[r * width + f]!) << 1;

  const buildHist = (hist: Float64Array, begin: number, end: number, gTotal: number, hTotal: number) => {
    for (let i = begin; i < end; i++) {
      const r = rows[i]!;
      const g = gh[2 * r]!;
      const h = gh[2 * r + 1]!;
      for (let k = rowStart[r]!, e = rowStart[r + 1]!; k < e; k++) {
        const idx = entries[k]!;
        hist[idx] = hist[idx]! + g;
        hist[idx + 1] = hist[idx + 1]! + h;
      }
    }
    for (let f = 0; f < width; f++) {
      let g = gTotal;
      let h = hTotal;
      const d = (offsets[f]! + defaults[f]!) << 1;
      for (let k = offsets[f]! << 1, e = offsets[f + 1]! << 1; k < e; k += 2) {
        if (k === d) continue;
        g -= hist[k]!;
        h -= hist[k + 1]!;
      }
      hist[d] = g;
      hist[d + 1] = h;
    }
  };

  const findSplit = (leaf: Leaf, feats: Int32Array) => {
    leaf.gain = 0;
    leaf.feature = -1;
    if (leaf.depth >= p.max_depth) return;
    const parent = (leaf.g * leaf.g) / (leaf.h + lambda);
    const hist = leaf.hist;
    for (let j = 0; j < feats.length; j++) {
      const f = feats[j]!;
      const start = offsets[f]!;
      const nb = offsets[f + 1]! - start;
      let gl = 0;
      let hl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += hist[(start + b) << 1]!;
        hl += hist[((start + b) << 1) + 1]!;
        if (hl < p.min_child_weight) continue;
        const hr = leaf.h - hl;
        if (hr < p.min_child_weight) break;
        const gr = leaf.g - gl;
        const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent) - p.min_split_gain;
        if (gain > leaf.gain) {
          leaf.gain = gain;
          leaf.feature = f;
          leaf.bin = b;
        }
      }
    }
  };

  for (let round = 0; round < maxRounds; round++) {
    let m = 0;
    if (p.subsample < 1) {
      for (let i = 0; i < n; i++) if (rand() < p.subsample) rows[m++] = i;
    } else {
      for (let i = 0; i < n; i++) rows[m++] = i;
    }
    // Derivatives of the weighted logistic loss at the current logits, for the rows this tree sees.
    inSample.fill(0);
    for (let k = 0; k < m; k++) {
      const i = rows[k]!;
      inSample[i] = 1;
      const q = sigmoid(F[i]!);
      const w = train.w[i]!;
      gh[2 * i] = w * (q - y[i]!);
      gh[2 * i + 1] = Math.max(w * q * (1 - q), 1e-16);
    }
    let feats = allFeatures;
    if (nCols < width) {
      const perm = Int32Array.from(allFeatures);
      for (let i = width - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      feats = perm.subarray(0, nCols).sort();
    }

    const tree: Builder = { feature: [], threshold: [], left: [], right: [], value: [], bin: [] };
    const addNode = (g: number, h: number) => {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(leafValue(g, h));
      tree.bin.push(-1);
      return tree.value.length - 1;
    };
    let g0 = 0;
    let h0 = 0;
    for (let i = 0; i < m; i++) {
      g0 += gh[2 * rows[i]!]!;
      h0 += gh[2 * rows[i]! + 1]!;
    }
    const root: Leaf = {
      node: addNode(g0, h0),
      begin: 0,
      end: m,
      depth: 0,
      g: g0,
      h: h0,
      hist: takeHist(),
      gain: 0,
      feature: -1,
      bin: 0,
    };
    buildHist(root.hist, 0, m, g0, h0);
    findSplit(root, feats);
    const leaves: Leaf[] = [root];
    let count = 1;
    while (count < p.max_leaves) {
      let bi = -1;
      for (let i = 0; i < leaves.length; i++)
        if (leaves[i]!.feature >= 0 && (bi < 0 || leaves[i]!.gain > leaves[bi]!.gain)) bi = i;
      if (bi < 0) break;
      const leaf = leaves[bi]!;
      const f = leaf.feature;
      // Stable partition of the leaf's rows: bin ≤ split bin to the left.
      let l = leaf.begin;
      let s = 0;
      for (let i = leaf.begin; i < leaf.end; i++) {
        const r = rows[i]!;
        if (train.bins[r * width + f]! <= leaf.bin) rows[l++] = r;
        else scratch[s++] = r;
      }
      rows.set(scratch.subarray(0, s), l);
      let gl = 0;
      let hl = 0;
      const start = offsets[f]!;
      for (let b = 0; b <= leaf.bin; b++) {
        gl += leaf.hist[(start + b) << 1]!;
        hl += leaf.hist[((start + b) << 1) + 1]!;
      }
      const leftLeaf: Leaf = {
        node: addNode(gl, hl),
        begin: leaf.begin,
        end: l,
        depth: leaf.depth + 1,
        g: gl,
        h: hl,
        hist: leaf.hist,
        gain: 0,
        feature: -1,
        bin: 0,
      };
      const rightLeaf: Leaf = {
        node: addNode(leaf.g - gl, leaf.h - hl),
        begin: l,
        end: leaf.end,
        depth: leaf.depth + 1,
        g: leaf.g - gl,
        h: leaf.h - hl,
        hist: leaf.hist,
        gain: 0,
        feature: -1,
        bin: 0,
      };
      tree.feature[leaf.node] = f;
      tree.threshold[leaf.node] = mapper.thresholds[f]![leaf.bin]!;
      tree.bin[leaf.node] = leaf.bin;
      tree.left[leaf.node] = leftLeaf.node;
      tree.right[leaf.node] = rightLeaf.node;
      // Histogram of the smaller child from its rows; the larger one's is the parent's minus it (in place).
      const small = leftLeaf.end - leftLeaf.begin <= rightLeaf.end - rightLeaf.begin ? leftLeaf : rightLeaf;
      const large = small === leftLeaf ? rightLeaf : leftLeaf;
      small.hist = takeHist();
      buildHist(small.hist, small.begin, small.end, small.g, small.h);
      const ph = large.hist;
      const sh = small.hist;
      for (let k = 0; k < ph.length; k++) ph[k] = ph[k]! - sh[k]!;
      findSplit(leftLeaf, feats);
      findSplit(rightLeaf, feats);
      leaves[bi] = leftLeaf;
      leaves.push(rightLeaf);
      count++;
    }
    // Add the tree to every row's logit: the subsample's rows from their leaf's row range, the
    // others by walking the tree on their bins (the walk sends a row where the partition did).
    for (const leaf of leaves) {
      pool.push(leaf.hist);
      const v = tree.value[leaf.node]!;
      for (let i = leaf.begin; i < leaf.end; i++) F[rows[i]!] = F[rows[i]!]! + v;
    }
    const walk = (bins: Uint8Array, at: number) => {
      let node = 0;
      while (tree.feature[node]! >= 0)
        node = bins[at + tree.feature[node]!]! <= tree.bin[node]! ? tree.left[node]! : tree.right[node]!;
      return tree.value[node]!;
    };
    if (m < n) for (let i = 0; i < n; i++) if (!inSample[i]) F[i] = F[i]! + walk(train.bins, i * width);
    trees.push({
      feature: tree.feature,
      threshold: tree.threshold,
      left: tree.left,
      right: tree.right,
      value: tree.value,
    });

    if (valid && Fv) {
      let loss = 0;
      let wsum = 0;
      for (let i = 0; i < valid.n; i++) {
        Fv[i] = Fv[i]! + walk(valid.bins, i * width);
        const z = Fv[i]!;
        // log(1 + e^z) − y·z, computed stably.
        const l = Math.max(z, 0) - z * valid.y[i]! + Math.log1p(Math.exp(-Math.abs(z)));
        loss += valid.w[i]! * l;
        wsum += valid.w[i]!;
      }
      loss /= Math.max(wsum, 1e-12);
      validLoss.push(loss);
      if (loss < best - 1e-12) {
        best = loss;
        bestRound = round + 1;
      } else if (patience > 0 && round + 1 - bestRound >= patience) break;
    }
  }
  const rounds = valid && patience > 0 ? Math.max(bestRound, 1) : trees.length;
  return {
    model: {
      format: 'bolsillo-gbdt',
      objective: 'binary:logistic',
      n_inputs: width,
      base_score: base,
      trees: trees.slice(0, rounds),
    },
    rounds,
    valid_loss: validLoss,
  };
}

/** Raw probabilities of a trained ensemble on encoded rows (the serving runtime's own scorer). */
export function predictGbdt(model: TreeEnsembleJson, x: Float32Array, n: number): Float64Array {
  return treeLogits(compileTreeEnsemble(model), x, n).map(sigmoid);
}
