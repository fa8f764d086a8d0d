/** Curve data for the plots, pure over label and score arrays. */
import { descendingOrder } from './order';

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * The runs of equal scores, highest first: each run's positives and negatives, visited in order
 * after a first pass that counts them. No per-run object is made: a split has millions of distinct
 * scores, and the plots keep only a few hundred points.
 */
function scoreRuns(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  visit?: (run: number, pos: number, neg: number) => void,
): { runs: number; pos: number; neg: number } {
  const idx = descendingOrder(p);
  let runs = 0;
  let pos = 0;
  let neg = 0;
  let i = 0;
  while (i < idx.length) {
    const t = p[idx[i]!]!;
    let gp = 0;
    let gn = 0;
    while (i < idx.length && p[idx[i]!]! === t) {
      if (y[idx[i]!]) gp++;
      else gn++;
      i++;
    }
    pos += gp;
    neg += gn;
    visit?.(runs, gp, gn);
    runs++;
  }
  return { runs, pos, neg };
}

/** The indices {@link thin} keeps of `length` points, ascending. */
function thinIndices(length: number, max: number): number[] {
  if (length <= max) return Array.from({ length }, (_, k) => k);
  const step = (length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => Math.round(k * step));
}

/** Keep at most `max` points (evenly spaced by index, ends kept) so SVGs stay small. */
export function thin(points: Point[], max = 400): Point[] {
  return points.length <= max ? points : thinIndices(points.length, max).map((k) => points[k]!);
}

/**
 * A curve of one point after each run of equal scores (point k after run k), preceded by `first`,
 * thinned to `max` points as {@link thin} would thin the whole list, without building it.
 */
function runCurve(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  point: (tp: number, seen: number, totals: { pos: number; neg: number }) => Point,
  first: (second: Point | undefined) => Point,
  max: number,
): Point[] {
  const totals = scoreRuns(y, p);
  const keep = thinIndices(totals.runs + 1, max);
  const out: Point[] = [];
  let next = keep[0] === 0 ? 1 : 0;
  let tp = 0;
  let seen = 0;
  let second: Point | undefined;
  scoreRuns(y, p, (run, gp, gn) => {
    tp += gp;
    seen += gp + gn;
    if (run === 0 || keep[next] === run + 1) {
      const pt = point(tp, seen, totals);
      if (run === 0) second = pt;
      if (keep[next] === run + 1) {
        out.push(pt);
        next++;
      }
    }
  });
  if (keep[0] === 0) out.unshift(first(second));
  return out;
}

/** ROC curve: (false-positive rate, true-positive rate) from (0,0) to (1,1). */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>, max = 400): Point[] {
  return runCurve(
    y,
    p,
    (tp, seen, { pos, neg }) => ({ x: neg ? (seen - tp) / neg : 0, y: pos ? tp / pos : 0 }),
    () => ({ x: 0, y: 0 }),
    max,
  );
}

/** Precision–recall curve: (recall, precision), one point per distinct score, from recall 0. */
export function prCurve(y: ArrayLike<number>, p: ArrayLike<number>, max = 400): Point[] {
  if (y.length === 0) return [];
  return runCurve(
    y,
    p,
    (tp, seen, { pos }) => ({ x: pos ? tp / pos : 0, y: tp / seen }),
    (second) => ({ x: 0, y: second!.y }),
    max,
  );
}

/** One decile of the ranked scores. */
export interface Decile {
  readonly decile: number;
  readonly count: number;
  readonly positives: number;
  readonly rate: number;
  /** Positive rate of the decile over the overall rate. */
  readonly lift: number;
  /** Share of all positives captured by this decile and the ones above it. */
  readonly cumulativeGain: number;
  /** Lowest score in the decile: flagging at this score flags this decile and everything above. */
  readonly minScore: number;
}

/** Lift and cumulative gain by decile (decile 1 = highest scores). */
export function liftByDecile(y: ArrayLike<number>, p: ArrayLike<number>, buckets = 10): Decile[] {
  const n = y.length;
  const idx = descendingOrder(p);
  let total = 0;
  for (let i = 0; i < n; i++) total += y[i] ? 1 : 0;
  const overall = n ? total / n : 0;
  const out: Decile[] = [];
  let cum = 0;
  for (let d = 0; d < buckets; d++) {
    const from = Math.floor((d * n) / buckets);
    const to = Math.floor(((d + 1) * n) / buckets);
    let positives = 0;
    let minScore = Infinity;
    for (let k = from; k < to; k++) {
      positives += y[idx[k]!] ? 1 : 0;
      minScore = Math.min(minScore, p[idx[k]!]!);
    }
    cum += positives;
    const count = to - from;
    const rate = count ? positives / count : 0;
    out.push({
      decile: d + 1,
      count,
      positives,
      rate,
      lift: overall ? rate / overall : 0,
      cumulativeGain: total ? cum / total : 0,
      minScore: count ? minScore : NaN,
    });
  }
  return out;
}

/** Histogram of scores per class over equal-width bins on [0, 1], as shares of each class. */
export function scoreHistogram(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  bins = 20,
): { edges: number[]; positive: number[]; negative: number[] } {
  const pos = new Array<number>(bins).fill(0);
  const neg = new Array<number>(bins).fill(0);
  let np = 0;
  let nn = 0;
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    if (y[i]) {
      pos[b]!++;
      np++;
    } else {
      neg[b]!++;
      nn++;
    }
  }
  return {
    edges: Array.from({ length: bins + 1 }, (_, k) => k / bins),
    positive: pos.map((c) => (np ? c / np : 0)),
    negative: neg.map((c) => (nn ? c / nn : 0)),
  };
}
