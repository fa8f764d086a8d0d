import { seededRandom } from '@bolsillo/core';
import { SPLITS, type Split } from '@bolsillo/schema';
import type { BuildParams } from './params';

/** Split and CV fold of every row, plus per-split sizes and prevalence. */
export interface SplitAssignment {
  readonly split: Split[];
  /** CV fold on train rows (0..k-1), -1 elsewhere. */
  readonly fold: Int32Array;
  readonly summary: SplitSummary;
}

/** Sizes and prevalence per split and per fold (`splits.json`). */
export interface SplitSummary {
  readonly strategy: 'group' | 'time';
  readonly seed: number;
  readonly requested: Record<Split, number>;
  readonly splits: Record<Split, { rows: number; share: number; positives: number; prevalence: number; groups: number; date_min: string | null; date_max: string | null }>;
  readonly folds: { fold: number; rows: number; positives: number; prevalence: number; groups: number }[];
  /** Groups assigned to each split (customer keys), sorted. Empty lists are kept for clarity. */
  readonly groups: Record<Split, string[]>;
}

interface Bucket {
  readonly target: number;
  readonly targetPos: number;
  rows: number;
  pos: number;
}

/**
 * Assign whole groups to buckets so that bucket sizes approach their targets and every bucket's
 * prevalence approaches the overall one (stratified as far as groups allow). Largest groups go
 * first (they are the hardest to place); ties are broken by a seeded shuffle, so the result is
 * reproducible and the seed changes it.
 */
export function assignGroups(
  groups: readonly { key: string; rows: number; pos: number }[],
  shares: readonly number[],
  seed: number,
): Map<string, number> {
  const totalRows = groups.reduce((n, g) => n + g.rows, 0);
  const totalPos = groups.reduce((n, g) => n + g.pos, 0);
  const sum = shares.reduce((a, b) => a + b, 0);
  const buckets: Bucket[] = shares.map((s) => ({ target: (totalRows * s) / sum, targetPos: (totalPos * s) / sum, rows: 0, pos: 0 }));
  const rand = seededRandom(seed);
  const order = [...groups].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((g) => ({ g, r: rand() }));
  order.sort((a, b) => b.g.rows - a.g.rows || a.r - b.r);
  const cost = (b: Bucket, rows: number, pos: number) => {
    // Squared relative misses on size and positives; empty-target buckets only take what nobody else can.
    const rowsMiss = b.target > 0 ? (rows - b.target) / b.target : rows;
    const posMiss = b.targetPos > 0 ? (pos - b.targetPos) / b.targetPos : 0;
    return rowsMiss * rowsMiss + 0.5 * posMiss * posMiss;
  };
  const out = new Map<string, number>();
  for (const { g } of order) {
    let best = -1;
    let bestGain = Infinity;
    buckets.forEach((b, i) => {
      if (b.target <= 0) return;
      const gain = cost(b, b.rows + g.rows, b.pos + g.pos) - cost(b, b.rows, b.pos);
      if (gain < bestGain) {
        bestGain = gain;
        best = i;
      }
    });
    const b = buckets[best]!;
    b.rows += g.rows;
    b.pos += g.pos;
    out.set(g.key, best);
  }
  return out;
}

function groupStats(group: readonly string[], y: Int8Array, rows: ArrayLike<number>) {
  const stats = new Map<string, { key: string; rows: number; pos: number }>();
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    const key = group[i]!;
    let s = stats.get(key);
    if (!s) stats.set(key, (s = { key, rows: 0, pos: 0 }));
    s.rows++;
    s.pos += y[i] === 1 ? 1 : 0;
  }
  return [...stats.values()];
}

/**
 * Split rows into train / calibration / test / holdout and CV folds on train.
 *
 * - `group`: whole customers go to one split, stratified by target as far as groups allow.
 * - `time`: rows ordered by date; the earliest dates train, then calibration, test, holdout
 *   (cuts fall between dates, never inside one). Customers then appear in several splits by design.
 *
 * Folds on train are group-aware in both cases, so CV never scores a customer it trained on.
 */
export function assignSplits(
  group: readonly string[],
  date: readonly string[],
  y: Int8Array,
  params: BuildParams['split'],
): SplitAssignment {
  const n = group.length;
  const sizes = params.sizes;
  const trainShare = 1 - sizes.calibration - sizes.test - sizes.holdout;
  if (trainShare <= 0) throw new Error(`split sizes leave no train share (calibration ${sizes.calibration} + test ${sizes.test} + holdout ${sizes.holdout} ≥ 1)`);
  const requested: Record<Split, number> = { train: trainShare, calibration: sizes.calibration, test: sizes.test, holdout: sizes.holdout };
  const shares = SPLITS.map((s) => requested[s]);
  const split: Split[] = new Array(n);
  const all = Array.from({ length: n }, (_, i) => i);
  if (params.strategy === 'group') {
    const assigned = assignGroups(groupStats(group, y, all), shares, params.seed);
    for (let i = 0; i < n; i++) split[i] = SPLITS[assigned.get(group[i]!)!]!;
  } else {
    const order = [...all].sort((a, b) => (date[a]! < date[b]! ? -1 : date[a]! > date[b]! ? 1 : a - b));
    const bounds: number[] = [];
    let acc = 0;
    for (const s of shares) bounds.push((acc += s) * n);
    let bucket = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      // Move to the next bucket only at a date change, so one day never straddles two splits.
      while (bucket < shares.length - 1 && k >= bounds[bucket]! && (k === 0 || date[order[k - 1]!] !== date[i])) bucket++;
      split[i] = SPLITS[bucket]!;
    }
  }
  const fold = new Int32Array(n).fill(-1);
  const trainRows = all.filter((i) => split[i] === 'train');
  const foldOf = assignGroups(groupStats(group, y, trainRows), new Array(params.folds).fill(1), params.seed + 1);
  for (const i of trainRows) fold[i] = foldOf.get(group[i]!)!;
  return { split, fold, summary: summarise(params, requested, group, date, y, split, fold) };
}

function summarise(
  params: BuildParams['split'],
  requested: Record<Split, number>,
  group: readonly string[],
  date: readonly string[],
  y: Int8Array,
  split: readonly Split[],
  fold: Int32Array,
): SplitSummary {
  const n = group.length;
  const per = Object.fromEntries(SPLITS.map((s) => [s, { rows: 0, pos: 0, groups: new Set<string>(), dmin: null as string | null, dmax: null as string | null }]));
  const folds = Array.from({ length: params.folds }, () => ({ rows: 0, pos: 0, groups: new Set<string>() }));
  for (let i = 0; i < n; i++) {
    const p = per[split[i]!]!;
    p.rows++;
    p.pos += y[i] === 1 ? 1 : 0;
    p.groups.add(group[i]!);
    if (p.dmin === null || date[i]! < p.dmin) p.dmin = date[i]!;
    if (p.dmax === null || date[i]! > p.dmax) p.dmax = date[i]!;
    if (fold[i]! >= 0) {
      const f = folds[fold[i]!]!;
      f.rows++;
      f.pos += y[i] === 1 ? 1 : 0;
      f.groups.add(group[i]!);
    }
  }
  const rate = (pos: number, rows: number) => (rows > 0 ? pos / rows : 0);
  return {
    strategy: params.strategy,
    seed: params.seed,
    requested,
    splits: Object.fromEntries(
      SPLITS.map((s) => {
        const p = per[s]!;
        return [s, { rows: p.rows, share: rate(p.rows, n), positives: p.pos, prevalence: rate(p.pos, p.rows), groups: p.groups.size, date_min: p.dmin, date_max: p.dmax }];
      }),
    ) as SplitSummary['splits'],
    folds: folds.map((f, i) => ({ fold: i, rows: f.rows, positives: f.pos, prevalence: rate(f.pos, f.rows), groups: f.groups.size })),
    groups: Object.fromEntries(SPLITS.map((s) => [s, [...per[s]!.groups].sort()])) as Record<Split, string[]>,
  };
}
