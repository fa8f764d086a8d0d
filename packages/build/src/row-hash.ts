import { BooleanColumn, NumberColumn, StringColumn, Utf8Column, type Column } from './frame';

/** Mix one 32-bit word into a running FNV-1a-style hash (Math.imul keeps it in 32 bits). */
function mix(h: number, x: number): number {
  h ^= x;
  h = Math.imul(h, 0x01000193);
  h ^= h >>> 15;
  return h >>> 0;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return mix(h, s.length);
}

const NULL_A = 0x9e3779b9;
const NULL_B = 0x7f4a7c15;

function mixNumber(hi: Uint32Array, lo: Uint32Array, i: number, v: number): void {
  f64[0] = v === 0 ? 0 : v; // -0 and 0 are the same value
  hi[i] = mix(mix(mix(hi[i]!, 1), u32[0]!), u32[1]!);
  lo[i] = mix(mix(mix(lo[i]!, 0x51), u32[1]! ^ 0xdeadbeef), u32[0]!);
}

/**
 * Mix one column into every row's fingerprint. Typed columns are read from their arrays (no cell
 * objects); a dictionary-coded text is mixed as the code of its value's first dictionary entry, and
 * raw UTF-8 as its bytes: equal values still mix equally, which is all a fingerprint promises.
 */
function mixColumn(col: Column, n: number, hi: Uint32Array, lo: Uint32Array, intern?: Map<string, number>): void {
  if (col instanceof NumberColumn) {
    const { values, valid } = col;
    for (let i = 0; i < n; i++) {
      if (valid && valid[i] === 0) {
        hi[i] = mix(hi[i]!, NULL_A);
        lo[i] = mix(lo[i]!, NULL_B);
      } else mixNumber(hi, lo, i, values[i]!);
    }
    return;
  }
  if (col instanceof BooleanColumn) {
    const { values } = col;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      hi[i] = v === 2 ? mix(hi[i]!, NULL_A) : mix(hi[i]!, v === 1 ? 3 : 2);
      lo[i] = v === 2 ? mix(lo[i]!, NULL_B) : mix(lo[i]!, v === 1 ? 0x33 : 0x22);
    }
    return;
  }
  if (col instanceof StringColumn) {
    const { codes, dict } = col;
    // A dictionary may in principle repeat a value: every code maps to its value's first code, or
    // to its number in `intern` when the column comes in parts with dictionaries of their own.
    const first = intern ?? new Map<string, number>();
    const canon = Int32Array.from(dict, (v, c) => {
      const k = first.get(v);
      if (k !== undefined) return k;
      const id = intern ? first.size : c;
      first.set(v, id);
      return id;
    });
    for (let i = 0; i < n; i++) {
      const c = codes[i]!;
      if (c < 0) {
        hi[i] = mix(hi[i]!, NULL_A);
        lo[i] = mix(lo[i]!, NULL_B);
      } else {
        hi[i] = mix(mix(hi[i]!, 5), canon[c]!);
        lo[i] = mix(mix(lo[i]!, 0x55 ^ 0x5bd1e995), canon[c]!);
      }
    }
    return;
  }
  if (col instanceof Utf8Column) {
    const { offsets, bytes, valid } = col;
    for (let i = 0; i < n; i++) {
      if (valid && valid[i] === 0) {
        hi[i] = mix(hi[i]!, NULL_A);
        lo[i] = mix(lo[i]!, NULL_B);
        continue;
      }
      let a = mix(hi[i]!, 6);
      let b = mix(lo[i]!, 0x66 ^ 0x5bd1e995);
      const from = offsets[i]!;
      const to = offsets[i + 1]!;
      for (let k = from; k < to; k++) {
        a = mix(a, bytes[k]!);
        b = mix(b, bytes[k]!);
      }
      hi[i] = mix(a, to - from);
      lo[i] = mix(b, to - from);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = col.get(i);
    let a = hi[i]!;
    let b = lo[i]!;
    if (v === null) {
      a = mix(a, NULL_A);
      b = mix(b, NULL_B);
    } else if (typeof v === 'number') {
      mixNumber(hi, lo, i, v);
      continue;
    } else if (typeof v === 'boolean') {
      a = mix(a, v ? 3 : 2);
      b = mix(b, v ? 0x33 : 0x22);
    } else {
      a = mixString(mix(a, 4), v);
      b = mixString(mix(b, 0x44 ^ 0x5bd1e995), v);
    }
    hi[i] = a;
    lo[i] = b;
  }
}

/**
 * Two independent 32-bit hashes (a 64-bit fingerprint) of every row over `cols`, and the row
 * indices sorted by fingerprint (ties by index, so the first occurrence in row order comes first;
 * skipped when `sort` is false).
 * Equal rows always get equal fingerprints; different rows collide with probability ~2^-64 per
 * pair. Missing values and each kind hash distinctly (null ≠ 0 ≠ false ≠ "0"). Fingerprints are
 * comparable within one call (one set of columns), not across columns of different representations.
 */
export function hashRows(
  cols: readonly Column[],
  n: number,
  sort = true,
): { order: Uint32Array; hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(n).fill(0x811c9dc5);
  const lo = new Uint32Array(n).fill(0x01234567);
  for (const col of cols) mixColumn(col, n, hi, lo);
  if (!sort) return { order: new Uint32Array(0), hi, lo };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => hi[x]! - hi[y]! || lo[x]! - lo[y]! || x - y);
  return { order, hi, lo };
}

/**
 * The fingerprints {@link hashRows} gives over `names`, for a table that comes in consecutive parts
 * (frames with those columns): equal rows get equal fingerprints across parts, so identical rows are
 * found as over the whole table, holding 8 bytes a row instead of the columns.
 */
export class RowFingerprints {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  private at = 0;
  private readonly interned: Map<string, number>[];

  constructor(
    private readonly names: readonly string[],
    rows: number,
  ) {
    this.hi = new Uint32Array(rows).fill(0x811c9dc5);
    this.lo = new Uint32Array(rows).fill(0x01234567);
    this.interned = names.map(() => new Map());
  }

  /** Mix in the next part's rows. */
  add(part: { readonly length: number; readonly columns: Readonly<Record<string, Column>> }): void {
    const n = part.length;
    const hi = this.hi.subarray(this.at, this.at + n);
    const lo = this.lo.subarray(this.at, this.at + n);
    if (hi.length !== n) throw new Error(`fingerprints: more than ${this.hi.length} rows`);
    this.names.forEach((name, c) => {
      const col = part.columns[name];
      if (!col) throw new Error(`fingerprints: column "${name}" missing`);
      mixColumn(col, n, hi, lo, this.interned[c]);
    });
    this.at += n;
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Fingerprints sorted at a time: {@link sortedSlices} holds at most about this many 64-bit keys (32 MB). */
export const FINGERPRINT_SORT_ROWS = 1 << 22;

/**
 * The 64-bit fingerprints (hi in the high word) in slices, each sorted natively: a slice is every
 * row whose `hi` falls in a range of high words, so equal fingerprints are always in the same slice.
 * A slice holds about `sortRows` keys (more only when one range alone has more), so the memory
 * beside `hi`/`lo` is bounded whatever the row count.
 */
function sortedSlices(hi: Uint32Array, lo: Uint32Array, sortRows: number, visit: (keys: BigUint64Array) => void): void {
  const n = hi.length;
  // Ranges of the top `bits` bits of hi, about an eighth of a slice each (at most 65,536 ranges).
  let bits = 0;
  while (bits < 16 && n / 2 ** bits > sortRows / 8) bits++;
  const shift = 32 - bits;
  const rangeOf = bits === 0 ? () => 0 : (i: number) => hi[i]! >>> shift;
  const ranges = 2 ** bits;
  const count = new Float64Array(ranges);
  for (let i = 0; i < n; i++) count[rangeOf(i)]!++;
  const [low, high] = littleEndian ? [0, 1] : [1, 0];
  for (let from = 0; from < ranges;) {
    let to = from;
    let m = 0;
    do m += count[to++]!;
    while (to < ranges && m + count[to]! <= sortRows);
    const a = from;
    const b = to;
    from = to;
    if (m < 2) continue; // a lone row repeats nothing
    const keys = new BigUint64Array(m);
    const words = new Uint32Array(keys.buffer);
    for (let i = 0, k = 0; i < n; i++) {
      const r = rangeOf(i);
      if (r < a || r >= b) continue;
      words[2 * k + low] = lo[i]!;
      words[2 * k + high] = hi[i]!;
      k++;
    }
    visit(keys.sort());
  }
}

/**
 * Rows whose fingerprint equals an earlier row's (n − distinct fingerprints), from native sorts of
 * the 64-bit fingerprints (in slices of at most about `sortRows`): the count {@link hashRows}' order
 * gives, without a comparator sort.
 */
export function repeatedFingerprints(hi: Uint32Array, lo: Uint32Array, sortRows = FINGERPRINT_SORT_ROWS): number {
  let repeats = 0;
  sortedSlices(hi, lo, sortRows, (keys) => {
    for (let k = 1; k < keys.length; k++) if (keys[k] === keys[k - 1]) repeats++;
  });
  return repeats;
}

/**
 * Ascending indices of the rows whose fingerprint some other row shares (fingerprints sorted in
 * slices of at most about `sortRows`, as {@link repeatedFingerprints}).
 */
export function repeatedFingerprintRows(
  hi: Uint32Array,
  lo: Uint32Array,
  sortRows = FINGERPRINT_SORT_ROWS,
): Uint32Array {
  const repeated = new Set<bigint>();
  const his = new Set<number>();
  sortedSlices(hi, lo, sortRows, (keys) => {
    for (let k = 1; k < keys.length; k++)
      if (keys[k] === keys[k - 1]) {
        repeated.add(keys[k]!);
        his.add(Number(keys[k]! >> 32n));
      }
  });
  if (repeated.size === 0) return new Uint32Array(0);
  // Only rows with a repeated high word build their 64-bit key.
  const rows: number[] = [];
  for (let i = 0; i < hi.length; i++)
    if (his.has(hi[i]!) && repeated.has((BigInt(hi[i]!) << 32n) | BigInt(lo[i]!))) rows.push(i);
  return Uint32Array.from(rows);
}
