/**
 * Learning curve: how a cheap model's fit changes with the training-set size. The production model
 * may be slow to refit, so the curve refits a plain-JS L2 logistic regression on growing seeded
 * subsets of the train split, over the model's own feature list. It answers "would more data help?"
 * (validation still improving) and "is the model over-fitting?" (train/validation gap).
 */
import { logLoss, rocAuc, seededRandom } from '@bolsillo/core';
import { TARGET, type EvaluationMetrics, type ModelCard } from '@bolsillo/schema';
import type { EvaluateParams } from './params';
import type { ScoredMaster } from './score-master';

/** One point of the learning curve. */
export interface LearningPoint {
  readonly size: number;
  readonly train_log_loss: number;
  readonly validation_log_loss: number;
  readonly train_roc_auc: number;
  readonly validation_roc_auc: number;
}

type Row = Readonly<Record<string, unknown>>;

/**
 * The features' values, one array per feature, read once from the row objects: the encoders then
 * index arrays instead of looking each feature up in every row object for every subset.
 */
interface Column {
  readonly raw: readonly unknown[];
  /**
   * The values as numbers when every present one is a number or a boolean (`Number(v)`; NaN when
   * missing): what a numeric encoder reads, without a type check per value. Null otherwise.
   */
  readonly num: Float64Array | null;
}
type Columns = readonly Column[];

function columnsOf(rows: readonly Row[], features: readonly string[]): Columns {
  return features.map((f) => {
    const raw = rows.map((r) => r[f]);
    let num: Float64Array | null = new Float64Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      if (v === null || v === undefined) num[i] = NaN;
      else if (typeof v === 'number' || typeof v === 'boolean') num[i] = Number(v);
      else {
        num = null;
        break;
      }
    }
    return { raw, num };
  });
}

const isMissingValue = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));

/** Column encoders fitted on one subset: numbers standardised (nulls → 0 plus an indicator), categories one-hot. */
interface Encoder {
  readonly width: number;
  /** Encode row `i` of `cols` into `out` (zeroed first). */
  encode(cols: Columns, i: number, out: Float64Array): void;
}

/** Fit the encoders on the rows `idx` (in that order) of `cols`. */
function fitEncoder(cols: Columns, idx: ArrayLike<number>): Encoder {
  const steps: ((cols: Columns, i: number, out: Float64Array) => void)[] = [];
  let width = 0;
  cols.forEach(({ raw: col, num }, f) => {
    let sample: unknown;
    for (let k = 0; k < idx.length; k++) {
      const v = col[idx[k]!];
      if (v !== null && v !== undefined) {
        sample = v;
        break;
      }
    }
    if (typeof sample === 'string') {
      const counts = new Map<string, number>();
      for (let k = 0; k < idx.length; k++) {
        const v = col[idx[k]!];
        if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      // Cap the vocabulary so rare categories cannot blow up a tiny subset.
      const vocab = [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 30)
        .map(([k]) => k);
      const base = width;
      const index = new Map(vocab.map((v, i) => [v, base + i]));
      width += vocab.length;
      steps.push((c, i, out) => {
        const k = index.get(c[f]!.raw[i] as string);
        if (k !== undefined) out[k] = 1;
      });
    } else if (num) {
      // The same statistics as below, from the numbers (a missing value is any non-finite one).
      const { mean, sd, missing } = moments(idx.length, (k) => {
        const x = num[idx[k]!]!;
        return Number.isFinite(x) ? x : undefined;
      });
      const k = width;
      const km = missing ? width + 1 : -1;
      width += missing ? 2 : 1;
      steps.push((cc, i, out) => {
        // The rows encoded may be other rows (validation) than those fitted on: their own column.
        const vn = cc[f]!.num;
        if (vn) {
          const x = vn[i]!;
          if (!Number.isFinite(x)) {
            if (km >= 0) out[km] = 1;
          } else out[k] = (x - mean) / sd;
          return;
        }
        const v = cc[f]!.raw[i];
        if (isMissingValue(v)) {
          if (km >= 0) out[km] = 1;
        } else out[k] = (Number(v) - mean) / sd;
      });
    } else {
      const { mean, sd, missing } = moments(idx.length, (k) => {
        const v = col[idx[k]!];
        return isMissingValue(v) ? undefined : Number(v);
      });
      const k = width;
      const km = missing ? width + 1 : -1;
      width += missing ? 2 : 1;
      steps.push((cc, i, out) => {
        const v = cc[f]!.raw[i];
        if (isMissingValue(v)) {
          if (km >= 0) out[km] = 1;
        } else out[k] = (Number(v) - mean) / sd;
      });
    }
  });
  return {
    width,
    encode(c, i, out) {
      out.fill(0);
      for (const step of steps) step(c, i, out);
    },
  };
}

function design(cols: Columns, idx: ArrayLike<number>, enc: Encoder): Float64Array[] {
  return Array.from({ length: idx.length }, (_, k) => {
    const x = new Float64Array(enc.width);
    enc.encode(cols, idx[k]!, x);
    return x;
  });
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Full-batch Adam on the L2-penalised log loss. Deterministic: weights start at zero. */
export function fitLogistic(
  x: readonly Float64Array[],
  y: ArrayLike<number>,
  options: { epochs: number; l2: number; learningRate?: number },
): { w: Float64Array; b: number } {
  const d = x[0]?.length ?? 0;
  const w = new Float64Array(d);
  let b = 0;
  const lr = options.learningRate ?? 0.1;
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const g = new Float64Array(d + 1);
  const n = x.length || 1;
  for (let t = 1; t <= options.epochs; t++) {
    g.fill(0);
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      let z = b;
      for (let j = 0; j < d; j++) z += w[j]! * xi[j]!;
      const e = sigmoid(z) - (y[i] ? 1 : 0);
      for (let j = 0; j < d; j++) g[j]! += e * xi[j]!;
      g[d]! += e;
    }
    for (let j = 0; j <= d; j++) {
      const grad = g[j]! / n + (j < d ? options.l2 * w[j]! : 0);
      m[j] = 0.9 * m[j]! + 0.1 * grad;
      v[j] = 0.999 * v[j]! + 0.001 * grad * grad;
      const step = (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
      if (j < d) w[j]! -= step;
      else b -= step;
    }
  }
  return { w, b };
}

function predict(x: readonly Float64Array[], model: { w: Float64Array; b: number }): Float64Array {
  return Float64Array.from(x, (xi) => {
    let z = model.b;
    for (let j = 0; j < xi.length; j++) z += model.w[j]! * xi[j]!;
    return sigmoid(z);
  });
}

/**
 * Refit on growing seeded subsets of `train` (one shuffled order, so each subset contains the
 * previous one) and score each fit on its own subset and on `validation`.
 *
 * @example learningCurve(trainRows, calRows, card.features, 'revenge_in_horizon', { fractions: [0.25, 0.5, 1], epochs: 60, l2: 1e-3, seed: 7 })
 */
export function learningCurve(
  train: readonly Row[],
  validation: readonly Row[],
  features: readonly string[],
  target: string,
  options: { fractions: readonly number[]; epochs: number; l2: number; seed: number },
): LearningPoint[] {
  const rand = seededRandom(options.seed);
  const order = train.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const yv = validation.map((r) => (r[target] ? 1 : 0));
  const trainCols = columnsOf(train, features);
  const validationCols = columnsOf(validation, features);
  const validationIdx = Array.from(validation.keys());
  const out: LearningPoint[] = [];
  for (const fraction of [...options.fractions].sort((a, b) => a - b)) {
    const size = Math.max(2, Math.round(fraction * train.length));
    if (size > train.length) continue;
    const subset = order.slice(0, size);
    const ys = subset.map((i) => (train[i]![target] ? 1 : 0));
    const enc = fitEncoder(trainCols, subset);
    const xs = design(trainCols, subset, enc);
    const model = fitLogistic(xs, ys, options);
    const ps = predict(xs, model);
    const pv = predict(design(validationCols, validationIdx, enc), model);
    out.push({
      size,
      train_log_loss: logLoss(ys, ps),
      validation_log_loss: validation.length ? logLoss(yv, pv) : NaN,
      train_roc_auc: rocAuc(ys, ps),
      validation_roc_auc: validation.length ? rocAuc(yv, pv) : NaN,
    });
  }
  return out;
}

/** Learning-curve points recorded by train in the card (`cv.learning_curve`), when present and well-formed. */
export function learningCurveFromCard(cv: Readonly<Record<string, unknown>>): LearningPoint[] | null {
  const lc = cv['learning_curve'];
  if (!Array.isArray(lc) || lc.length === 0) return null;
  const ok = lc.every(
    (p) =>
      p &&
      typeof p === 'object' &&
      typeof (p as Record<string, unknown>).size === 'number' &&
      typeof (p as Record<string, unknown>).validation_log_loss === 'number',
  );
  return ok ? (lc as LearningPoint[]) : null;
}

/**
 * What the learning curve shows, named after the model it actually fits: the card's own curve
 * (train refitted the candidate's family), or evaluate's refit, a logistic regression, which for
 * another family is a stand-in that says whether more data would help a model on these features.
 */
export function learningCurveModel(family: string, fromCard: boolean): string {
  if (fromCard) return `${family} refitted by train`;
  return family === 'logistic' ? 'logistic regression, refitted' : `logistic stand-in for the ${family} model`;
}

/** The candidate's learning curve and how it was obtained (`metrics.json` `samples`). */
export interface CandidateLearningCurve {
  readonly points: LearningPoint[];
  readonly fromCard: boolean;
  readonly samples: EvaluationMetrics['samples'];
}

/**
 * The candidate's learning curve: the card's own when train recorded one, else a refit on the
 * master pass's seeded samples (validation on calibration rows, or test rows when there are none).
 */
export function candidateLearningCurve(
  card: ModelCard,
  scored: ScoredMaster,
  params: EvaluateParams,
): CandidateLearningCurve {
  const { train, calibration, test, cap } = scored.samples;
  const validation = calibration.seen ? calibration : test;
  const fromCard = learningCurveFromCard(card.cv);
  const points =
    fromCard ??
    learningCurve(train.items, validation.items, card.features, TARGET, {
      ...params.learning_curve,
      seed: params.seed,
    });
  return {
    points,
    fromCard: fromCard !== null,
    samples: {
      learning_curve: fromCard
        ? { source: 'card' as const }
        : {
            source: 'refit' as const,
            seed: params.seed,
            train_rows: train.items.length,
            train_total: scored.trainRows,
            validation_rows: validation.items.length,
            validation_total: validation.seen,
            cap,
          },
      bootstrap: { max_rows: params.bootstrap.max_rows ?? null },
    },
  };
}

/**
 * Mean and standard deviation (1 for a constant or empty column) of the present values among n, and
 * how many are missing (`valueAt` returns undefined for those).
 */
function moments(n: number, valueAt: (k: number) => number | undefined): { mean: number; sd: number; missing: number } {
  let s = 0;
  let s2 = 0;
  let c = 0;
  let missing = 0;
  for (let k = 0; k < n; k++) {
    const x = valueAt(k);
    if (x === undefined) missing++;
    else {
      s += x;
      s2 += x * x;
      c++;
    }
  }
  const mean = c ? s / c : 0;
  const sd = c ? Math.sqrt(Math.max(s2 / c - mean * mean, 0)) || 1 : 1;
  return { mean, sd, missing };
}
