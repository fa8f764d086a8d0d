import type { FeatureDtype } from '@bolsillo/schema';
import { cellReader, type CellSource } from './frame';

/** Numbers as they are, booleans as 0/1, anything else (null, text) as NaN. */
export function toNumeric(values: CellSource, rows?: ArrayLike<number>): Float64Array {
  const n = rows ? rows.length : values.length;
  const out = new Float64Array(n);
  const at = cellReader(values);
  for (let k = 0; k < n; k++) {
    const v = at(rows ? rows[k]! : k);
    out[k] = typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
  }
  return out;
}

/**
 * A numeric score per row for any dtype: numbers and booleans as {@link toNumeric}; categories as
 * the target rate of their category among the given rows (in-sample, so an upper bound of what
 * the feature alone can do — the point for a leakage check).
 */
export function scoreColumn(
  values: CellSource,
  dtype: FeatureDtype,
  y: Int8Array,
  rows: ArrayLike<number>,
): Float64Array {
  if (dtype !== 'category') return toNumeric(values, rows);
  const at = cellReader(values);
  const pos = new Map<string, number>();
  const tot = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const v = at(rows[k]!);
    const key = v === null ? '\u0000null' : String(v);
    tot.set(key, (tot.get(key) ?? 0) + 1);
    pos.set(key, (pos.get(key) ?? 0) + (y[rows[k]!] === 1 ? 1 : 0));
  }
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const v = at(rows[k]!);
    const key = v === null ? '\u0000null' : String(v);
    out[k] = pos.get(key)! / tot.get(key)!;
  }
  return out;
}

/** Pearson correlation over rows where both values are finite; NaN when undefined. */
export function pearson(a: Float64Array, b: Float64Array): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      n++;
      sa += a[i]!;
      sb += b[i]!;
    }
  }
  if (n < 3) return NaN;
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      const da = a[i]! - ma;
      const db = b[i]! - mb;
      cov += da * db;
      va += da * da;
      vb += db * db;
    }
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN;
}

/**
 * Discrete codes for mutual information: numbers in equal-frequency bins, categories and booleans
 * by value; missing values get their own code (missingness can carry signal).
 */
export function discretise(values: CellSource, dtype: FeatureDtype, rows: ArrayLike<number>, bins: number): Int32Array {
  const out = new Int32Array(rows.length);
  if (dtype === 'category' || dtype === 'boolean') {
    const at = cellReader(values);
    const codes = new Map<string, number>();
    for (let k = 0; k < rows.length; k++) {
      const v = at(rows[k]!);
      const key = v === null ? '\u0000null' : String(v);
      let c = codes.get(key);
      if (c === undefined) codes.set(key, (c = codes.size));
      out[k] = c;
    }
    return out;
  }
  const x = toNumeric(values, rows);
  const finite = Float64Array.from(x.filter((v) => Number.isFinite(v))).sort();
  const cuts: number[] = [];
  for (let b = 1; b < bins; b++) {
    const c = finite.length ? finite[Math.min(finite.length - 1, Math.floor((b * finite.length) / bins))]! : 0;
    if (cuts.length === 0 || c > cuts[cuts.length - 1]!) cuts.push(c);
  }
  for (let k = 0; k < rows.length; k++) {
    const v = x[k]!;
    if (!Number.isFinite(v)) {
      out[k] = cuts.length + 1;
      continue;
    }
    let c = 0;
    while (c < cuts.length && v >= cuts[c]!) c++;
    out[k] = c;
  }
  return out;
}

/** Mutual information (bits) between discrete codes and a binary target. */
export function mutualInformation(codes: Int32Array, y: Int8Array, rows: ArrayLike<number>): number {
  const n = rows.length;
  if (n === 0) return 0;
  const joint = new Map<number, [number, number]>();
  let pos = 0;
  for (let k = 0; k < n; k++) {
    const t = y[rows[k]!] === 1 ? 1 : 0;
    pos += t;
    let cell = joint.get(codes[k]!);
    if (!cell) joint.set(codes[k]!, (cell = [0, 0]));
    cell[t]++;
  }
  const py = [(n - pos) / n, pos / n];
  let mi = 0;
  for (const cell of joint.values()) {
    const px = (cell[0] + cell[1]) / n;
    for (const t of [0, 1] as const) {
      const pxy = cell[t] / n;
      if (pxy > 0) mi += pxy * Math.log2(pxy / (px * py[t]!));
    }
  }
  return mi;
}
