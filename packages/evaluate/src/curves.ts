/** Curve data for the plots, pure over label and score arrays. */
import { descendingOrder } from './order';

export interface Point {
  readonly x: number;
  readonly y: number;
}

function sortedGroups(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
): { pos: number; neg: number; groups: { pos: number; neg: number }[] } {
  const idx = descendingOrder(p);
  const groups: { pos: number; neg: number }[] = [];
  let pos = 0;
  let neg = 0;
  let i = 0;
  while (i < idx.length) {
    const t = p[idx[i]!]!;
    const g = { pos: 0, neg: 0 };
    while (i < idx.length && p[idx[i]!]! === t) {
      if (y[idx[i]!]) g.pos++;
      else g.neg++;
      i++;
    }
    pos += g.pos;
    neg += g.neg;
    groups.push(g);
  }
  return { pos, neg, groups };
}

/** Keep at most `max` points (evenly spaced by index, ends kept) so SVGs stay small. */
export function thin(points: Point[], max = 400): Point[] {
  if (points.length <= max) return points;
  const out: Point[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * step)]!);
  return out;
}

/** ROC curve: (false-positive rate, true-positive rate) from (0,0) to (1,1). */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>): Point[] {
  const { pos, neg, groups } = sortedGroups(y, p);
  const pts: Point[] = [{ x: 0, y: 0 }];
  let tp = 0;
  let fp = 0;
  for (const g of groups) {
    tp += g.pos;
    fp += g.neg;
    pts.push({ x: neg ? fp / neg : 0, y: pos ? tp / pos : 0 });
  }
  return thin(pts);
}

/** Precision–recall curve: (recall, precision), one point per distinct score. */
export function prCurve(y: ArrayLike<number>, p: ArrayLike<number>): Point[] {
  const { pos, groups } = sortedGroups(y, p);
  const pts: Point[] = [];
  let tp = 0;
  let seen = 0;
  for (const g of groups) {
    tp += g.pos;
    seen += g.pos + g.neg;
    pts.push({ x: pos ? tp / pos : 0, y: tp / seen });
  }
  if (pts.length) pts.unshift({ x: 0, y: pts[0]!.y });
  return thin(pts);
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
