/**
 * Binary-classification metrics over labels (0/1 or boolean) and scores in [0, 1].
 * Pure functions over arrays, shared by train (CV), evaluate and monitor.
 */
export type Labels = ArrayLike<number | boolean>;
export type Scores = ArrayLike<number>;

const y01 = (y: Labels, i: number) => (y[i] ? 1 : 0);

function checkLengths(y: Labels, p: Scores): void {
  if (y.length !== p.length) throw new Error(`metrics: ${y.length} labels but ${p.length} scores`);
}

/**
 * Walk the groups of tied scores from the highest score down, with each group's positives and
 * negatives. The two classes' scores are sorted apart (typed arrays sort numerically, without a
 * comparator, which is several times faster than sorting indices) and merged from the top.
 */
function forEachTieGroup(y: Labels, p: Scores, visit: (gPos: number, gNeg: number) => void): void {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y01(y, i);
  const ps = new Float64Array(pos);
  const ns = new Float64Array(y.length - pos);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    if (y01(y, i)) ps[a++] = p[i]!;
    else ns[b++] = p[i]!;
  }
  ps.sort();
  ns.sort();
  let i = ps.length - 1;
  let j = ns.length - 1;
  while (i >= 0 || j >= 0) {
    // NaN sorts last, so it comes first here; it ties with nothing.
    const v = i < 0 ? ns[j]! : j < 0 ? ps[i]! : Number.isNaN(ps[i]!) || ps[i]! > ns[j]! ? ps[i]! : ns[j]!;
    let gPos = 0;
    let gNeg = 0;
    if (Number.isNaN(v)) {
      if (i >= 0 && Number.isNaN(ps[i]!)) {
        gPos = 1;
        i--;
      } else {
        gNeg = 1;
        j--;
      }
    } else {
      for (; i >= 0 && ps[i] === v; i--) gPos++;
      for (; j >= 0 && ns[j] === v; j--) gNeg++;
    }
    visit(gPos, gNeg);
  }
}

/** Area under the ROC curve (ties count half). NaN when only one class is present. */
export function rocAuc(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < y.length; i++) {
    if (y01(y, i)) pos++;
    else neg++;
  }
  if (pos === 0 || neg === 0) return NaN;
  // Each negative counts the positives ranked above it (half of those tied with it).
  let auc = 0;
  let posAbove = 0;
  forEachTieGroup(y, p, (gPos, gNeg) => {
    auc += gNeg * (posAbove + gPos / 2);
    posAbove += gPos;
  });
  return auc / (pos * neg);
}

/** Average precision (area under the precision–recall curve, step-wise, ties grouped). NaN without positives. */
export function averagePrecision(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let totalPos = 0;
  for (let i = 0; i < y.length; i++) totalPos += y01(y, i);
  if (totalPos === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  forEachTieGroup(y, p, (gPos, gNeg) => {
    tp += gPos;
    fp += gNeg;
    const recall = tp / totalPos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  });
  return ap;
}

/** Mean binary cross-entropy, probabilities clipped to [eps, 1 - eps]. */
export function logLoss(y: Labels, p: Scores, eps = 1e-12): number {
  checkLengths(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i]!, eps), 1 - eps);
    s += y01(y, i) ? -Math.log(q) : -Math.log(1 - q);
  }
  return s / y.length;
}

/** Brier score: mean squared error of the probabilities. */
export function brierScore(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y01(y, i)) ** 2;
  return s / y.length;
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number;
  readonly fractionPositive: number;
}

/** Equal-width reliability bins over [0, 1]. Empty bins have count 0 and NaN means. */
export function reliabilityBins(y: Labels, p: Scores, bins = 10): ReliabilityBin[] {
  checkLengths(y, p);
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    count[b]!++;
    sumP[b]! += p[i]!;
    sumY[b]! += y01(y, i);
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: c ? sumP[b]! / c : NaN,
    fractionPositive: c ? sumY[b]! / c : NaN,
  }));
}

/** Expected calibration error over equal-width bins. */
export function expectedCalibrationError(y: Labels, p: Scores, bins = 10): number {
  const n = y.length;
  if (n === 0) return NaN;
  return reliabilityBins(y, p, bins).reduce(
    (s, b) => (b.count ? s + (b.count / n) * Math.abs(b.meanPredicted - b.fractionPositive) : s),
    0,
  );
}

/** Confusion matrix and the rates derived from it, at a threshold (score ≥ threshold is positive). */
export interface Confusion {
  readonly threshold: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly accuracy: number;
}

/** {@link Confusion} at `threshold`. Precision is 0 when nothing is predicted positive. */
export function confusionAt(y: Labels, p: Scores, threshold: number): Confusion {
  checkLengths(y, p);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = p[i]! >= threshold;
    const truth = y01(y, i) === 1;
    if (pred && truth) tp++;
    else if (pred) fp++;
    else if (truth) fn++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { threshold, tp, fp, tn, fn, precision, recall, f1, accuracy: y.length ? (tp + tn) / y.length : NaN };
}

/** A small seeded PRNG (mulberry32): same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
