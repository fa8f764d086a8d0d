import { seededRandom } from '@bolsillo/core';
import { SPLITS, type Split, type SplitSummary } from '@bolsillo/schema';

export type { SplitSummary };
import type { BuildParams } from './params';

/** How rows are split: whole customers, periods of time, or both (see {@link assignSplitsCoded}). */
export type SplitStrategy = SplitSummary['strategy'];

/** Split code of a row that belongs to no split (a label-window gap, or off the group × time diagonal). */
export const UNASSIGNED = 255;

/** Split and CV fold of every row, plus per-split sizes and prevalence. */
export interface SplitAssignment {
  /** The row's split; null when the row is in no split ({@link UNASSIGNED}). */
  readonly split: (Split | null)[];
  /** CV fold on train rows (0..k-1), -1 elsewhere. */
  readonly fold: Int32Array;
  readonly summary: SplitSummary;
}

interface Bucket {
  readonly target: number;
  readonly targetPos: number;
  rows: number;
  pos: number;
}

/**
 * Assign whole groups to buckets so that bucket sizes approach their targets and every bucket's
 * prevalence approaches the overall one (stratified as far as groups allow). Groups are placed
 * greedily, roughly largest first (they are the hardest to place): the order is by size times a
 * seeded factor in [0.5, 1.5), so the result is reproducible and the seed really changes which
 * groups land where, even when no two groups have the same size (repeated splits need that).
 */
export function assignGroups(
  groups: readonly { key: string; rows: number; pos: number }[],
  shares: readonly number[],
  seed: number,
): Map<string, number> {
  const totalRows = groups.reduce((n, g) => n + g.rows, 0);
  const totalPos = groups.reduce((n, g) => n + g.pos, 0);
  const sum = shares.reduce((a, b) => a + b, 0);
  const buckets: Bucket[] = shares.map((s) => ({
    target: (totalRows * s) / sum,
    targetPos: (totalPos * s) / sum,
    rows: 0,
    pos: 0,
  }));
  const rand = seededRandom(seed);
  const order = [...groups].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((g) => ({ g, r: rand() }));
  order.sort((a, b) => b.g.rows * (0.5 + b.r) - a.g.rows * (0.5 + a.r) || a.r - b.r);
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

/** Dictionary codes of every row: 16 bits when the dictionary allows (the merge's dates), else 32. */
export type Codes = Int32Array | Uint16Array;

/** Values as dictionary codes: `dict[codes[i]]` (what the build holds; no string per row). */
export interface Coded<C extends Codes = Int32Array> {
  readonly codes: C;
  readonly dict: readonly string[];
}

/** Intern plain strings into {@link Coded} form (first appearance order). */
export function encodeStrings(values: readonly string[]): Coded {
  const index = new Map<string, number>();
  const dict: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let c = index.get(v);
    if (c === undefined) {
      c = dict.length;
      dict.push(v);
      index.set(v, c);
    }
    codes[i] = c;
  }
  return { codes, dict };
}

/** Per-group row and positive counts over the rows where `take(i)` holds (all rows when absent). */
function groupStats(group: Coded<Codes>, y: Int8Array, take?: (i: number) => boolean) {
  const rows = new Float64Array(group.dict.length);
  const pos = new Float64Array(group.dict.length);
  const n = group.codes.length;
  for (let i = 0; i < n; i++) {
    if (take && !take(i)) continue;
    const c = group.codes[i]!;
    rows[c] = rows[c]! + 1;
    if (y[i] === 1) pos[c] = pos[c]! + 1;
  }
  const out: { key: string; rows: number; pos: number }[] = [];
  for (let c = 0; c < rows.length; c++)
    if (rows[c]! > 0) out.push({ key: group.dict[c]!, rows: rows[c]!, pos: pos[c]! });
  return out;
}

/** Split and fold of every row as compact codes: `split[i]` indexes {@link SPLITS}. */
export interface CodedSplitAssignment {
  readonly split: Uint8Array;
  readonly fold: Int32Array;
  readonly summary: SplitSummary;
}

/**
 * {@link CodedSplitAssignment} with the folds per group instead of per row: a train row's fold is its
 * group's (`groupFold[code]`), any other row's -1 (see {@link rowFolds}).
 */
export interface GroupFoldAssignment {
  readonly split: Uint8Array;
  /** CV fold of each group code (-1: the group has no train row). */
  readonly groupFold: Int32Array;
  readonly summary: SplitSummary;
}

/** Each row's CV fold from its split and group (the fold of a train row's group, else -1), into `out`. */
export function rowFolds<T extends Int8Array | Int32Array>(
  split: Uint8Array,
  groupCodes: Codes,
  groupFold: Int32Array,
  out: T,
): T {
  const TRAIN = SPLITS.indexOf('train');
  for (let i = 0; i < split.length; i++) out[i] = split[i] === TRAIN ? groupFold[groupCodes[i]!]! : -1;
  return out;
}

/**
 * Split rows into train / calibration / test / holdout and CV folds on train.
 *
 * - `group`: whole customers go to one split, stratified by target as far as groups allow.
 * - `time`: the earliest dates train, then calibration, test, holdout (cuts fall between dates,
 *   never inside one), with `gapDays` days left out after each split: the label of a snapshot on
 *   day d reads days d+1..d+H, so with a gap of H no label of an earlier split sees a later split's
 *   days. Customers appear in several splits by design.
 * - `group_time`: unseen customers AND later dates. Customers are assigned as in `group`, and
 *   time is cut once (at the train share of rows, then the gap): train keeps the train customers'
 *   earlier rows, the other splits their own customers' later rows; the rest is in no split.
 *
 * Rows in no split get {@link UNASSIGNED} (see {@link dropUnassigned}). Folds on train are
 * group-aware in every case, so CV never scores a customer it trained on.
 */
export function assignSplits(
  group: readonly string[],
  date: readonly string[],
  y: Int8Array,
  params: BuildParams['split'],
  gapDays = 0,
): SplitAssignment {
  const coded = assignSplitsCoded(encodeStrings(group), encodeStrings(date), y, params, gapDays);
  return {
    split: Array.from(coded.split, (c) => (c === UNASSIGNED ? null : SPLITS[c]!)),
    fold: coded.fold,
    summary: coded.summary,
  };
}

/**
 * {@link assignSplits} over dictionary-coded groups and dates, returning split codes: a few bytes a
 * row instead of JS arrays of strings, which is what keeps ten million rows within memory.
 * Same assignment as {@link assignSplits} for the same values.
 */
export function assignSplitsCoded(
  group: Coded<Codes>,
  date: Coded<Codes>,
  y: Int8Array,
  params: BuildParams['split'],
  gapDays = 0,
): CodedSplitAssignment {
  const { split, groupFold, summary } = assignSplitsByGroup(group, date, y, params, gapDays);
  return { split, fold: rowFolds(split, group.codes, groupFold, new Int32Array(split.length)), summary };
}

/**
 * {@link assignSplitsCoded} holding one byte a row (the split) instead of five: the folds are
 * given per group, for a caller that keeps the rows' groups anyway (the build merge).
 */
export function assignSplitsByGroup(
  group: Coded<Codes>,
  date: Coded<Codes>,
  y: Int8Array,
  params: BuildParams['split'],
  gapDays = 0,
): GroupFoldAssignment {
  const n = group.codes.length;
  const sizes = params.sizes;
  const trainShare = 1 - sizes.calibration - sizes.test - sizes.holdout;
  if (trainShare <= 0)
    throw new Error(
      `split sizes leave no train share (calibration ${sizes.calibration} + test ${sizes.test} + holdout ${sizes.holdout} ≥ 1)`,
    );
  if (!(gapDays >= 0)) throw new Error(`split gap must be a number of days ≥ 0 (got ${gapDays})`);
  const requested: Record<Split, number> = {
    train: trainShare,
    calibration: sizes.calibration,
    test: sizes.test,
    holdout: sizes.holdout,
  };
  const shares = SPLITS.map((s) => requested[s]);
  const split = new Uint8Array(n);
  const dateRank = rankCodes(date.dict);
  const TRAIN = SPLITS.indexOf('train');
  const byCustomer = () => {
    const assigned = assignGroups(groupStats(group, y), shares, params.seed);
    return Int32Array.from(group.dict, (k) => assigned.get(k) ?? 0);
  };
  if (params.strategy === 'group') {
    const byCode = byCustomer();
    for (let i = 0; i < n; i++) split[i] = byCode[group.codes[i]!]!;
  } else {
    const days = dayOfRank(date.dict, dateRank);
    const rowsPerRank = new Float64Array(days.length);
    for (let i = 0; i < n; i++) {
      const r = dateRank[date.codes[i]!]!;
      rowsPerRank[r] = rowsPerRank[r]! + 1;
    }
    if (params.strategy === 'time') {
      const period = periodsByDate(rowsPerRank, days, shares, gapDays);
      for (let i = 0; i < n; i++) {
        const p = period[dateRank[date.codes[i]!]!]!;
        split[i] = p < 0 ? UNASSIGNED : p;
      }
    } else {
      // One cut in time: the train customers' earlier rows train, the others' later rows evaluate.
      const period = periodsByDate(rowsPerRank, days, [trainShare, 1 - trainShare], gapDays);
      const byCode = byCustomer();
      for (let i = 0; i < n; i++) {
        const p = period[dateRank[date.codes[i]!]!]!;
        const b = byCode[group.codes[i]!]!;
        split[i] = p >= 0 && (b === TRAIN) === (p === 0) ? b : UNASSIGNED;
      }
    }
  }
  const foldOf = assignGroups(
    groupStats(group, y, (i) => split[i] === TRAIN),
    new Array(params.folds).fill(1),
    params.seed + 1,
  );
  const groupFold = Int32Array.from(group.dict, (k) => foldOf.get(k) ?? -1);
  return {
    split,
    groupFold,
    summary: summarise(params, requested, gapDays, group, date, dateRank, y, split, groupFold),
  };
}

/**
 * Period of each date rank for consecutive row shares, cut only between dates, with the `gap`
 * days after each period's last date in no period (-1). Periods with a zero share are skipped.
 * Targets are shares of the rows left once gaps are out (a second pass with the first pass's gap count).
 */
function periodsByDate(
  rowsPerRank: Float64Array,
  days: Int32Array,
  shares: readonly number[],
  gap: number,
): Int16Array {
  const total = rowsPerRank.reduce((a, b) => a + b, 0);
  const sum = shares.reduce((a, b) => a + b, 0);
  const pass = (effective: number) => {
    const out = new Int16Array(days.length).fill(-1);
    const cumulative: number[] = [];
    let acc = 0;
    for (const s of shares) cumulative.push((acc += s) * (effective / sum));
    let bucket = 0;
    while (bucket < shares.length - 1 && shares[bucket]! <= 0) bucket++;
    let assigned = 0;
    let excluded = 0;
    let lastDay = -Infinity;
    let gapUntil = -Infinity;
    for (let r = 0; r < days.length; r++) {
      if (days[r]! <= gapUntil) {
        excluded += rowsPerRank[r]!;
        continue;
      }
      if (bucket < shares.length - 1 && assigned > 0 && assigned >= cumulative[bucket]!) {
        do bucket++;
        while (bucket < shares.length - 1 && shares[bucket]! <= 0);
        gapUntil = lastDay + gap;
        if (days[r]! <= gapUntil) {
          excluded += rowsPerRank[r]!;
          continue;
        }
      }
      out[r] = bucket;
      assigned += rowsPerRank[r]!;
      lastDay = days[r]!;
    }
    return { out, excluded };
  };
  const first = pass(total);
  return first.excluded > 0 ? pass(total - first.excluded).out : first.out;
}

/** Calendar day number of each date rank (`YYYY-MM-DD` strings; days since 1970-01-01). */
function dayOfRank(dict: readonly string[], rank: Int32Array): Int32Array {
  const out = new Int32Array(dict.length === 0 ? 0 : Math.max(...rank) + 1);
  dict.forEach((v, code) => {
    const t = Date.parse(`${v.slice(0, 10)}T00:00:00Z`);
    if (!Number.isFinite(t)) throw new Error(`splits: date "${v}" is not YYYY-MM-DD`);
    out[rank[code]!] = Math.round(t / 86_400_000);
  });
  return out;
}

/**
 * Keep only the rows an assignment put in a split: the frame is reordered in place (consumed),
 * the target, split codes and folds are cut to match. Returns the inputs when every row is assigned.
 */
export function dropUnassigned<F extends { readonly length: number }>(
  frame: F,
  y: Int8Array,
  assignment: CodedSplitAssignment,
  reorder: (frame: F, index: Uint32Array) => F,
): { frame: F; y: Int8Array; split: Uint8Array; fold: Int32Array; summary: SplitSummary } {
  const { split, fold, summary } = assignment;
  if (summary.unassigned.rows === 0) return { frame, y, split, fold, summary };
  const keep = new Uint32Array(split.length - summary.unassigned.rows);
  for (let i = 0, k = 0; i < split.length; i++) if (split[i] !== UNASSIGNED) keep[k++] = i;
  return {
    frame: reorder(frame, keep),
    y: Int8Array.from(keep, (i) => y[i]!),
    split: Uint8Array.from(keep, (i) => split[i]!),
    fold: Int32Array.from(keep, (i) => fold[i]!),
    summary,
  };
}

/**
 * The rows an assignment put in a split, in place: each array (one value a row) keeps those rows at
 * its start, in order, and its first `kept` values are returned (views; nothing is copied when
 * every row is assigned). For a caller that needs the unassigned rows' values no more.
 */
export function keepAssignedInPlace<T extends Int8Array | Uint8Array | Uint16Array | Int32Array>(
  split: Uint8Array,
  arrays: readonly T[],
): T[] {
  let kept = 0;
  for (let i = 0; i < split.length; i++) if (split[i] !== UNASSIGNED) kept++;
  if (kept === split.length) return [...arrays];
  return arrays.map((a) => {
    if (a.length !== split.length) throw new Error(`keepAssignedInPlace: ${a.length} values for ${split.length} rows`);
    // The k-th kept row comes from row i ≥ k: writing ascending never overwrites a row still to be read.
    for (let i = 0, k = 0; i < split.length; i++) if (split[i] !== UNASSIGNED) a[k++] = a[i]!;
    return a.subarray(0, kept) as T;
  });
}

/** Rank of each dictionary entry in string order (equal strings share a rank). */
function rankCodes(dict: readonly string[]): Int32Array {
  const sorted = dict.map((v, code) => ({ v, code })).sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0));
  const rank = new Int32Array(dict.length);
  let r = -1;
  sorted.forEach((e, k) => {
    if (k === 0 || e.v !== sorted[k - 1]!.v) r++;
    rank[e.code] = r;
  });
  return rank;
}

function summarise(
  params: BuildParams['split'],
  requested: Record<Split, number>,
  gapDays: number,
  group: Coded<Codes>,
  date: Coded<Codes>,
  dateRank: Int32Array,
  y: Int8Array,
  split: Uint8Array,
  groupFold: Int32Array,
): SplitSummary {
  const n = group.codes.length;
  const TRAIN = SPLITS.indexOf('train');
  const G = group.dict.length;
  // Per split and per fold: rows, positives, a seen-mark per group code and the date-rank range.
  const per = SPLITS.map(() => ({ rows: 0, pos: 0, seen: new Uint8Array(G), groups: 0, rmin: -1, rmax: -1 }));
  const folds = Array.from({ length: params.folds }, () => ({ rows: 0, pos: 0, seen: new Uint8Array(G), groups: 0 }));
  let unassigned = 0;
  let unassignedPos = 0;
  for (let i = 0; i < n; i++) {
    if (split[i] === UNASSIGNED) {
      unassigned++;
      unassignedPos += y[i] === 1 ? 1 : 0;
      continue;
    }
    const p = per[split[i]!]!;
    const g = group.codes[i]!;
    const r = dateRank[date.codes[i]!]!;
    p.rows++;
    p.pos += y[i] === 1 ? 1 : 0;
    if (!p.seen[g]) {
      p.seen[g] = 1;
      p.groups++;
    }
    if (p.rmin < 0 || r < p.rmin) p.rmin = r;
    if (p.rmax < 0 || r > p.rmax) p.rmax = r;
    const fold = split[i] === TRAIN ? groupFold[g]! : -1;
    if (fold >= 0) {
      const f = folds[fold]!;
      f.rows++;
      f.pos += y[i] === 1 ? 1 : 0;
      if (!f.seen[g]) {
        f.seen[g] = 1;
        f.groups++;
      }
    }
  }
  const dateOfRank: string[] = [];
  date.dict.forEach((v, code) => (dateOfRank[dateRank[code]!] = v));
  const rate = (pos: number, rows: number) => (rows > 0 ? pos / rows : 0);
  const groupsOf = (seen: Uint8Array) => {
    // Distinct keys (a dictionary may in principle repeat a value), sorted.
    const keys = new Set<string>();
    for (let c = 0; c < G; c++) if (seen[c]) keys.add(group.dict[c]!);
    return [...keys].sort();
  };
  const groupLists = per.map((p) => groupsOf(p.seen));
  const kept = n - unassigned;
  return {
    strategy: params.strategy,
    seed: params.seed,
    gap_days: params.strategy === 'group' ? 0 : gapDays,
    unassigned: { rows: unassigned, positives: unassignedPos, share: rate(unassigned, n) },
    requested,
    splits: Object.fromEntries(
      SPLITS.map((s, k) => {
        const p = per[k]!;
        return [
          s,
          {
            rows: p.rows,
            share: rate(p.rows, kept),
            positives: p.pos,
            prevalence: rate(p.pos, p.rows),
            groups: groupLists[k]!.length,
            date_min: p.rmin < 0 ? null : dateOfRank[p.rmin]!,
            date_max: p.rmax < 0 ? null : dateOfRank[p.rmax]!,
          },
        ];
      }),
    ) as SplitSummary['splits'],
    folds: folds.map((f, i) => ({
      fold: i,
      rows: f.rows,
      positives: f.pos,
      prevalence: rate(f.pos, f.rows),
      groups: groupsOf(f.seen).length,
    })),
    groups: Object.fromEntries(SPLITS.map((s, k) => [s, groupLists[k]!])) as Record<Split, string[]>,
  };
}
