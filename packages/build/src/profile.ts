import { binIndex } from '@bolsillo/core';
import type { CategoricalProfile, NumericProfile, Profile } from '@bolsillo/schema';
import { BooleanColumn, cellReader, NumberColumn, StringColumn, type CellSource } from './frame';

const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;

/** Quantile of sorted values, linear interpolation (numpy's default). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Histogram bin edges at equal-frequency quantiles (deduplicated), so every reference bin holds
 * data and a population-stability index over them is well defined. Drift monitoring treats the
 * first and last bins as open-ended.
 */
export function quantileEdges(sorted: Float64Array, bins: number): number[] {
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let b = 0; b <= bins; b++) {
    const e = quantileSorted(sorted, b / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  if (edges.length === 1) edges.push(edges[0]!);
  return edges;
}

/**
 * Append the finite numbers of `values` to `into` from position `at`; returns the new position.
 * Booleans, text and missing values are skipped (they count as missing in a numeric profile).
 */
export function appendFinite(values: CellSource, into: Float64Array, at: number): number {
  let m = at;
  if (values instanceof NumberColumn) {
    const { values: xs, valid } = values;
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      if ((!valid || valid[i] === 1) && Number.isFinite(v)) into[m++] = v;
    }
  } else {
    const at = cellReader(values);
    for (let i = 0; i < values.length; i++) {
      const v = at(i);
      if (typeof v === 'number' && Number.isFinite(v)) into[m++] = v;
    }
  }
  return m;
}

/** Profile of a numeric column (numbers; booleans should go to {@link profileCategorical}). */
export function profileNumeric(values: CellSource, bins: number): NumericProfile {
  const buf = new Float64Array(values.length);
  return profileFinite(buf.subarray(0, appendFinite(values, buf, 0)), values.length, bins);
}

/**
 * {@link profileNumeric} from the finite values of a column of `count` rows (any order; sorted in
 * place): the column can be gathered a part at a time without holding the column itself.
 */
export function profileFinite(finite: Float64Array, count: number, bins: number): NumericProfile {
  const sorted = finite.sort();
  const missing = count - sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sorted.length ? sum / sorted.length : null;
  let ss = 0;
  if (mean !== null) for (const v of sorted) ss += (v - mean) ** 2;
  const edges = quantileEdges(sorted, bins);
  const counts = new Array<number>(Math.max(edges.length - 1, 0)).fill(0);
  if (counts.length) for (const v of sorted) counts[binIndex(edges, v)]!++;
  return {
    kind: 'numeric',
    count,
    missing,
    missing_share: count ? missing / count : 0,
    mean,
    std: mean !== null && sorted.length > 1 ? Math.sqrt(ss / (sorted.length - 1)) : null,
    min: sorted.length ? sorted[0]! : null,
    max: sorted.length ? sorted[sorted.length - 1]! : null,
    quantiles: sorted.length
      ? Object.fromEntries(Object.entries(QUANTILES).map(([k, q]) => [k, quantileSorted(sorted, q)]))
      : {},
    bin_edges: edges,
    bin_counts: counts,
  };
}

/** Profile of a categorical or boolean column: frequency of every value (booleans as "true"/"false"). */
export function profileCategorical(values: CellSource): CategoricalProfile {
  const counts = new CategoryCounts();
  counts.add(values);
  return counts.profile();
}

/** {@link profileCategorical} over a column given in parts: value counts add up part by part. */
export class CategoryCounts {
  private readonly freq = new Map<string, number>();
  private missing = 0;
  private count = 0;

  /** Count the values of the next part. */
  add(values: CellSource): void {
    const freq = this.freq;
    this.count += values.length;
    if (values instanceof StringColumn || values instanceof BooleanColumn) {
      // Rows per code, then one entry per value (the same counts as one row at a time).
      const codes = values instanceof StringColumn ? values.codes : values.values;
      const size = values instanceof StringColumn ? values.dict.length : 2;
      const counts = new Float64Array(size);
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i]!;
        if (values instanceof StringColumn ? c < 0 : c === 2) this.missing++;
        else counts[c]!++;
      }
      for (let c = 0; c < size; c++) {
        if (counts[c] === 0) continue;
        const k = values instanceof StringColumn ? values.dict[c]! : String(c === 1);
        freq.set(k, (freq.get(k) ?? 0) + counts[c]!);
      }
    } else {
      const at = cellReader(values);
      for (let i = 0; i < values.length; i++) {
        const v = at(i);
        if (v === null) this.missing++;
        else {
          const k = String(v);
          freq.set(k, (freq.get(k) ?? 0) + 1);
        }
      }
    }
  }

  /** The profile of every value counted. */
  profile(): CategoricalProfile {
    const sorted = Object.fromEntries([...this.freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
    return {
      kind: 'categorical',
      count: this.count,
      missing: this.missing,
      missing_share: this.count ? this.missing / this.count : 0,
      frequencies: sorted,
    };
  }
}

/**
 * The distribution profile of the given columns: the reference drift monitoring compares live
 * traffic against (`profile.json`).
 */
export function profileColumns(
  columns: Readonly<Record<string, CellSource>>,
  kinds: Readonly<Record<string, 'numeric' | 'categorical'>>,
  bins: number,
  createdFrom: string,
): Profile {
  const out: Profile['columns'] = {};
  let rows = 0;
  for (const [name, kind] of Object.entries(kinds)) {
    const values = columns[name];
    if (!values) throw new Error(`profile: column "${name}" not found`);
    rows = values.length;
    out[name] = kind === 'numeric' ? profileNumeric(values, bins) : profileCategorical(values);
  }
  return { created_from: createdFrom, rows, columns: out };
}
