import type { Data, Table } from 'apache-arrow';
import type { Transaction } from '@bolsillo/schema';

/**
 * A string column with its values interned: `ids[i]` indexes `dict` (−1 = null). Equal values share
 * one JS string, so per-row work never decodes UTF-8 or allocates.
 */
export interface InternedColumn {
  readonly ids: Int32Array;
  readonly dict: readonly string[];
}

/** Raw UTF-8 bytes of a string column, row by row (`bytes[offsets[i] .. offsets[i+1]]`); copied, never decoded. */
export interface RawUtf8Column {
  readonly offsets: Int32Array;
  readonly bytes: Uint8Array;
}

/**
 * One batch of lake transactions as columns (the features stage's input). Built straight from the
 * Arrow vectors of a lake partition ({@link txnColumnsFromTable}) or from row objects
 * ({@link txnColumnsFromRows}); both feed the same feature computation.
 */
export interface TxnColumns {
  readonly length: number;
  readonly txn_id: RawUtf8Column;
  readonly customer_key: InternedColumn;
  readonly customer_key_bytes: RawUtf8Column;
  readonly date: InternedColumn;
  readonly date_bytes: RawUtf8Column;
  readonly account_cohort: InternedColumn;
  readonly city: InternedColumn;
  readonly state: InternedColumn;
  readonly sex: InternedColumn;
  readonly merchant_group: InternedColumn;
  readonly merchant_city: InternedColumn;
  readonly merchant_country: InternedColumn;
  readonly source_file: InternedColumn;
  readonly age: Int32Array;
  readonly credit_limit: Int32Array;
  readonly available_limit: Int32Array;
  readonly source_line: Int32Array;
  readonly amount: Float64Array;
  /** 1 where amount is known. */
  readonly amount_valid: Uint8Array;
}

const decoder = new TextDecoder();

/**
 * Where the columns of {@link txnColumnsFromTable} get their arrays: fresh ones, or a thread's reused
 * buffers. Callers write every element of what they get, so reused memory needs no zeroing.
 */
export interface ArraySource {
  int32(length: number): Int32Array;
  uint8(length: number): Uint8Array;
  float64(length: number): Float64Array;
}

/** Fresh arrays. */
export const FRESH_ARRAYS: ArraySource = {
  int32: (n) => new Int32Array(n),
  uint8: (n) => new Uint8Array(n),
  float64: (n) => new Float64Array(n),
};

/**
 * Interns UTF-8 byte strings: open addressing on a hash of the length and the first 24 bytes (keys
 * are hex digests, the rest short names); a byte comparison with the kept copy confirms every hit,
 * so two different values never share an id. Ids are dense: 0, 1, 2, ... in order of first sight.
 * A slot is 4 Int32 [hash, id (-1 = empty), start, end of the copy in the pool]: one cache line per
 * probe, then the copy (the customer dictionary outgrows the caches).
 */
export class Utf8Interner {
  /** The values, indexed by id. */
  readonly dict: string[] = [];
  private pool = new Uint8Array(1 << 12);
  private used = 0;
  private slots = 1 << 8;
  private table = Utf8Interner.empty(this.slots);

  private static empty(slots: number): Int32Array {
    const t = new Int32Array(slots * 4);
    for (let s = 0; s < slots; s++) t[s * 4 + 1] = -1;
    return t;
  }

  /** The id of `bytes[start .. end]`, added when new. */
  id(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    let h = 0x811c9dc5 ^ length;
    const stop = Math.min(end, start + 24);
    for (let i = start; i < stop; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    const t = this.table;
    const mask = this.slots - 1;
    const pool = this.pool;
    for (let slot = (h ^ (h >>> 15)) & mask; ; slot = (slot + 1) & mask) {
      const e = slot << 2;
      const id = t[e + 1]!;
      if (id < 0) return this.add(bytes, start, end, h, e);
      if (t[e] !== h) continue;
      const at = t[e + 2]!;
      if (t[e + 3]! - at !== length) continue;
      let k = 0;
      while (k < length && pool[at + k] === bytes[start + k]) k++;
      if (k === length) return id;
    }
  }

  private add(bytes: Uint8Array, start: number, end: number, h: number, e: number): number {
    const id = this.dict.length;
    const length = end - start;
    if (this.used + length > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.used + length));
      pool.set(this.pool.subarray(0, this.used));
      this.pool = pool;
    }
    this.pool.set(bytes.subarray(start, end), this.used);
    const t = this.table;
    t[e] = h;
    t[e + 1] = id;
    t[e + 2] = this.used;
    t[e + 3] = this.used + length;
    this.used += length;
    this.dict.push(decoder.decode(bytes.subarray(start, end)));
    if ((id + 1) * 2 > this.slots) this.grow();
    return id;
  }

  private grow(): void {
    const old = this.table;
    const slots = this.slots * 2;
    const t = Utf8Interner.empty(slots);
    const mask = slots - 1;
    for (let e = 0; e < old.length; e += 4) {
      if (old[e + 1]! < 0) continue;
      const h = old[e]!;
      let slot = (h ^ (h >>> 15)) & mask;
      while (t[(slot << 2) + 1]! >= 0) slot = (slot + 1) & mask;
      t.set(old.subarray(e, e + 4), slot << 2);
    }
    this.table = t;
    this.slots = slots;
  }
}

type AnyData = Data & {
  valueOffsets: Int32Array;
  values: Uint8Array | Int32Array | Float64Array;
  nullBitmap: Uint8Array | undefined;
  nullCount: number;
  offset: number;
};

function chunksOf(table: Table, name: string): AnyData[] {
  const v = table.getChild(name);
  if (!v) throw new Error(`lake partition has no column "${name}"`);
  return v.data as AnyData[];
}

function allValid(d: AnyData): boolean {
  return d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0;
}

function isValid(d: AnyData, i: number): boolean {
  if (allValid(d)) return true;
  const j = d.offset + i;
  return (d.nullBitmap![j >> 3]! & (1 << (j & 7))) !== 0;
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}

function internInto(table: Table, name: string, ids: Int32Array, interner: Utf8Interner): void {
  let row = 0;
  for (const d of chunksOf(table, name)) {
    const offsets = d.valueOffsets;
    const bytes = d.values as Uint8Array;
    const every = allValid(d);
    // Runs of one value (date and source file are constant in a partition) skip the hash: a byte
    // comparison with the previous row's value is enough.
    let prevStart = -1;
    let prevEnd = -1;
    let prevId = -1;
    for (let i = 0; i < d.length; i++, row++) {
      if (!every && !isValid(d, i)) {
        ids[row] = -1;
        continue;
      }
      const start = offsets[d.offset + i]!;
      const end = offsets[d.offset + i + 1]!;
      if (prevId >= 0 && end - start === prevEnd - prevStart && sameBytes(bytes, start, prevStart, end - start)) {
        ids[row] = prevId;
        continue;
      }
      prevId = ids[row] = interner.id(bytes, start, end);
      prevStart = start;
      prevEnd = end;
    }
  }
}

function internColumn(table: Table, name: string, n: number, arrays: ArraySource, interner = new Utf8Interner()) {
  const ids = arrays.int32(n);
  internInto(table, name, ids, interner);
  return { ids, dict: interner.dict };
}

function rawUtf8Column(table: Table, name: string, n: number, arrays: ArraySource): RawUtf8Column {
  const chunks = chunksOf(table, name);
  const offsets = arrays.int32(n + 1);
  offsets[0] = 0;
  let total = 0;
  for (const d of chunks) total += d.valueOffsets[d.offset + d.length]! - d.valueOffsets[d.offset]!;
  const bytes = arrays.uint8(total);
  let row = 0;
  let at = 0;
  for (const d of chunks) {
    const o = d.valueOffsets;
    const from = o[d.offset]!;
    const to = o[d.offset + d.length]!;
    bytes.set((d.values as Uint8Array).subarray(from, to), at);
    for (let i = 0; i < d.length; i++) offsets[++row] = at + o[d.offset + i + 1]! - from;
    at += to - from;
  }
  return { offsets, bytes };
}

function numberColumn<T extends Int32Array | Float64Array>(table: Table, name: string, out: T, valid?: Uint8Array): T {
  let row = 0;
  for (const d of chunksOf(table, name)) {
    const values = d.values as T;
    out.set(values.subarray(d.offset, d.offset + d.length), row);
    if (valid) for (let i = 0; i < d.length; i++) valid[row + i] = isValid(d, i) ? 1 : 0;
    row += d.length;
  }
  return out;
}

/** Options of {@link txnColumnsFromTable}. */
export interface TxnColumnsOptions {
  /** Where the arrays come from (default: fresh ones). */
  readonly arrays?: ArraySource;
  /**
   * The customer_key interner, kept across tables so that ids stay stable (a Parquet thread keeps one for
   * its life); default: one per table.
   */
  readonly customers?: Utf8Interner;
}

/**
 * The transactions of a lake table as {@link TxnColumns}, read from the Arrow vectors' own buffers
 * (typed arrays copied, strings interned from their bytes): no row objects, no per-value decoding.
 * String columns other than customer_key get one dictionary per table: the kernel derives its
 * per-value tables (calendar, places, flags) from each batch's dictionary, which stays small.
 */
export function txnColumnsFromTable(table: Table, options: TxnColumnsOptions = {}): TxnColumns {
  const n = table.numRows;
  const arrays = options.arrays ?? FRESH_ARRAYS;
  const strings = (name: string) => internColumn(table, name, n, arrays);
  const ints = (name: string) => numberColumn(table, name, arrays.int32(n));
  const amount_valid = arrays.uint8(n);
  return {
    length: n,
    txn_id: rawUtf8Column(table, 'txn_id', n, arrays),
    customer_key_bytes: rawUtf8Column(table, 'customer_key', n, arrays),
    date_bytes: rawUtf8Column(table, 'date', n, arrays),
    date: strings('date'),
    account_cohort: strings('account_cohort'),
    city: strings('city'),
    state: strings('state'),
    sex: strings('sex'),
    merchant_group: strings('merchant_group'),
    merchant_city: strings('merchant_city'),
    merchant_country: strings('merchant_country'),
    source_file: strings('source_file'),
    customer_key: internColumn(table, 'customer_key', n, arrays, options.customers),
    age: ints('age'),
    credit_limit: ints('credit_limit'),
    available_limit: ints('available_limit'),
    source_line: ints('source_line'),
    amount: numberColumn(table, 'amount', arrays.float64(n), amount_valid),
    amount_valid,
  };
}

const encoder = new TextEncoder();

function internStrings(values: readonly (string | null)[]): InternedColumn {
  const ids = new Int32Array(values.length);
  const dict: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) {
      ids[i] = -1;
      continue;
    }
    let id = seen.get(v);
    if (id === undefined) {
      id = dict.length;
      dict.push(v);
      seen.set(v, id);
    }
    ids[i] = id;
  }
  return { ids, dict };
}

function utf8Strings(values: readonly string[]): RawUtf8Column {
  const parts = values.map((v) => encoder.encode(v));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = total += parts[i]!.length;
  const bytes = new Uint8Array(total);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]!);
  return { offsets, bytes };
}

/** Row objects as {@link TxnColumns} (tests and small callers; the offline run reads columns directly). */
export function txnColumnsFromRows(txns: readonly Transaction[]): TxnColumns {
  const n = txns.length;
  const col = <K extends keyof Transaction>(k: K) => txns.map((t) => t[k]);
  const amount = new Float64Array(n);
  const amount_valid = new Uint8Array(n);
  txns.forEach((t, i) => {
    if (t.amount !== null) {
      amount[i] = t.amount;
      amount_valid[i] = 1;
    }
  });
  return {
    length: n,
    txn_id: utf8Strings(col('txn_id')),
    customer_key: internStrings(col('customer_key')),
    customer_key_bytes: utf8Strings(col('customer_key')),
    date: internStrings(col('date')),
    date_bytes: utf8Strings(col('date')),
    account_cohort: internStrings(col('account_cohort')),
    city: internStrings(col('city')),
    state: internStrings(col('state')),
    sex: internStrings(col('sex')),
    merchant_group: internStrings(col('merchant_group')),
    merchant_city: internStrings(col('merchant_city')),
    merchant_country: internStrings(col('merchant_country')),
    source_file: internStrings(col('source_file')),
    age: Int32Array.from(col('age')),
    credit_limit: Int32Array.from(col('credit_limit')),
    available_limit: Int32Array.from(col('available_limit')),
    source_line: Int32Array.from(col('source_line')),
    amount,
    amount_valid,
  };
}

/** The string at row `i` of a UTF-8 column (decoded on demand: only for rare tie-breaks). */
export function utf8At(col: RawUtf8Column, i: number): string {
  return decoder.decode(col.bytes.subarray(col.offsets[i]!, col.offsets[i + 1]!));
}
