import type { ColumnarBucket, ColumnarParsedFile } from './parse-fast';

/**
 * Valid rows in line order, staged before they are sorted into date buckets: growable columns reused by
 * every parse on a thread (see takeStaging), so a parse allocates no per-date growth buffers. Rows are
 * moved into exact-size buckets by {@link flushStaging}.
 */
export interface Staging extends ColumnarBucket {
  date: Int32Array;
  hashes: Float64Array;
}

// Rows staged before a flush: bounds the staging columns (36 bytes a row) of a one-pass parse of a large file.
export const STAGING_MAX_ROWS = 1 << 20;
// Groups of consecutive dates a flush splits its rows into (see flushStaging).
const FLUSH_GROUPS = 8;
let spareStaging: Staging | null = null;

/** Hand staging columns back for the thread's next parse (but not a one-pass parse's file-sized hash column). */
export function releaseStaging(st: Staging): void {
  if (st.hashes.length > STAGING_MAX_ROWS) st.hashes = new Float64Array(1 << 12);
  spareStaging = st;
}

// The thread's staging columns if no other parse holds them (parses on one thread may interleave), else new ones.
export function takeStaging(): Staging {
  const st = spareStaging ?? newStaging(1 << 12);
  spareStaging = null;
  st.length = 0;
  return st;
}

function newStaging(capacity: number): Staging {
  return {
    length: 0,
    date: new Int32Array(capacity),
    identity: new Int32Array(capacity),
    merchant: new Int32Array(capacity),
    credit_limit: new Int32Array(capacity),
    available_limit: new Int32Array(capacity),
    amount: new Float64Array(capacity),
    source_line: new Int32Array(capacity),
    hashes: new Float64Array(capacity),
  };
}

export function growRows(st: Staging): void {
  const n = st.identity.length * 2;
  const g = <T extends Int32Array | Float64Array>(a: T): T => {
    const c = new (a.constructor as new (n: number) => T)(n);
    c.set(a);
    return c;
  };
  st.date = g(st.date);
  st.identity = g(st.identity);
  st.merchant = g(st.merchant);
  st.credit_limit = g(st.credit_limit);
  st.available_limit = g(st.available_limit);
  st.amount = g(st.amount);
  st.source_line = g(st.source_line);
}

/**
 * Move the staged rows into date buckets, appended as a new part of each date (dates new to `out` in the
 * order of their first row, `dates` being in that order; rows in line order). The rows go into a few
 * exact-size buffers, each date's bucket a view of its slice: no slack and few long-lived allocations,
 * so little heap fragmentation. The buffers are per group of consecutive dates (in date order, the order
 * the write phase goes in), so the write phase frees them group by group instead of all at the end.
 */
export function flushStaging(st: Staging, dates: readonly string[], out: ColumnarParsedFile): void {
  const n = st.length;
  st.length = 0;
  if (n === 0) return;
  const counts = new Int32Array(dates.length);
  for (let i = 0; i < n; i++) counts[st.date[i]!]! += 1;
  const order = [...dates.keys()].sort((a, b) => (dates[a]! < dates[b]! ? -1 : dates[a]! > dates[b]! ? 1 : 0));
  const groupOf = new Int32Array(dates.length);
  const start = new Int32Array(dates.length);
  const sizes = new Int32Array(FLUSH_GROUPS);
  for (const [rank, d] of order.entries()) {
    const g = Math.floor((rank * FLUSH_GROUPS) / dates.length);
    groupOf[d] = g;
    start[d] = sizes[g]!;
    sizes[g]! += counts[d]!;
  }
  const groups = Array.from(sizes, (size) => ({
    identity: new Int32Array(size),
    merchant: new Int32Array(size),
    credit: new Int32Array(size),
    avail: new Int32Array(size),
    amount: new Float64Array(size),
    line: new Int32Array(size),
  }));
  const at = start.slice();
  for (let i = 0; i < n; i++) {
    const d = st.date[i]!;
    const c = groups[groupOf[d]!]!;
    const j = at[d]!++;
    c.identity[j] = st.identity[i]!;
    c.merchant[j] = st.merchant[i]!;
    c.credit[j] = st.credit_limit[i]!;
    c.avail[j] = st.available_limit[i]!;
    c.amount[j] = st.amount[i]!;
    c.line[j] = st.source_line[i]!;
  }
  for (let d = 0; d < dates.length; d++) {
    if (counts[d] === 0) continue;
    const c = groups[groupOf[d]!]!;
    const a = start[d]!;
    const e = a + counts[d]!;
    const part: ColumnarBucket = {
      length: e - a,
      identity: c.identity.subarray(a, e),
      merchant: c.merchant.subarray(a, e),
      credit_limit: c.credit.subarray(a, e),
      available_limit: c.avail.subarray(a, e),
      amount: c.amount.subarray(a, e),
      source_line: c.line.subarray(a, e),
    };
    const parts = out.buckets.get(dates[d]!);
    if (parts) parts.push(part);
    else out.buckets.set(dates[d]!, [part]);
  }
}
