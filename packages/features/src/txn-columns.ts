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
 * Interns UTF-8 byte strings: a hash of the bytes finds the candidate, a byte comparison confirms it
 * (so two different values never share an id).
 */
class Interner {
  readonly dict: string[] = [];
  private readonly copies: Uint8Array[] = [];
  private readonly byHash = new Map<number, number | number[]>();

  id(bytes: Uint8Array, start: number, end: number): number {
    // Length plus the first 24 bytes spread values well (keys are hex digests, the rest short
    // names); equal hashes are always confirmed by a byte comparison.
    let h = 0x811c9dc5 ^ (end - start);
    const stop = Math.min(end, start + 24);
    for (let i = start; i < stop; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h &= 0x3fffffff; // a small integer key keeps the Map on its fast path
    const hit = this.byHash.get(h);
    if (hit !== undefined) {
      if (typeof hit === 'number') {
        if (this.same(hit, bytes, start, end)) return hit;
      } else {
        for (const id of hit) if (this.same(id, bytes, start, end)) return id;
      }
    }
    const id = this.dict.length;
    const copy = bytes.slice(start, end);
    this.copies.push(copy);
    this.dict.push(decoder.decode(copy));
    if (hit === undefined) this.byHash.set(h, id);
    else this.byHash.set(h, typeof hit === 'number' ? [hit, id] : [...hit, id]);
    return id;
  }

  private same(id: number, bytes: Uint8Array, start: number, end: number): boolean {
    const c = this.copies[id]!;
    if (c.length !== end - start) return false;
    for (let i = 0; i < c.length; i++) if (c[i] !== bytes[start + i]) return false;
    return true;
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

function isValid(d: AnyData, i: number): boolean {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return true;
  const j = d.offset + i;
  return (d.nullBitmap[j >> 3]! & (1 << (j & 7))) !== 0;
}

function internColumn(table: Table, name: string, n: number): InternedColumn {
  const ids = new Int32Array(n);
  const interner = new Interner();
  let row = 0;
  for (const d of chunksOf(table, name)) {
    const offsets = d.valueOffsets;
    const bytes = d.values as Uint8Array;
    const allValid = d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0;
    // Runs of one value (date and source file are constant in a partition) skip the hash: a byte
    // comparison with the previous row's value is enough.
    let prevStart = -1;
    let prevEnd = -1;
    let prevId = -1;
    for (let i = 0; i < d.length; i++, row++) {
      if (!allValid && !isValid(d, i)) {
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
  return { ids, dict: interner.dict };
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}

function rawUtf8Column(table: Table, name: string, n: number): RawUtf8Column {
  const chunks = chunksOf(table, name);
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (const d of chunks) total += d.valueOffsets[d.offset + d.length]! - d.valueOffsets[d.offset]!;
  const bytes = new Uint8Array(total);
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

function numberColumn<T extends Int32Array | Float64Array>(
  table: Table,
  name: string,
  n: number,
  make: (n: number) => T,
  valid?: Uint8Array,
): T {
  const out = make(n);
  let row = 0;
  for (const d of chunksOf(table, name)) {
    const values = d.values as T;
    out.set(values.subarray(d.offset, d.offset + d.length), row);
    if (valid) for (let i = 0; i < d.length; i++) valid[row + i] = isValid(d, i) ? 1 : 0;
    row += d.length;
  }
  return out;
}

/**
 * The transactions of a lake table as {@link TxnColumns}, read from the Arrow vectors' own buffers
 * (typed arrays copied, strings interned from their bytes): no row objects, no per-value decoding.
 */
export function txnColumnsFromTable(table: Table): TxnColumns {
  const n = table.numRows;
  const amount_valid = new Uint8Array(n);
  const ints = (name: string) => numberColumn(table, name, n, (k) => new Int32Array(k));
  return {
    length: n,
    txn_id: rawUtf8Column(table, 'txn_id', n),
    customer_key: internColumn(table, 'customer_key', n),
    customer_key_bytes: rawUtf8Column(table, 'customer_key', n),
    date: internColumn(table, 'date', n),
    date_bytes: rawUtf8Column(table, 'date', n),
    account_cohort: internColumn(table, 'account_cohort', n),
    city: internColumn(table, 'city', n),
    state: internColumn(table, 'state', n),
    sex: internColumn(table, 'sex', n),
    merchant_group: internColumn(table, 'merchant_group', n),
    merchant_city: internColumn(table, 'merchant_city', n),
    merchant_country: internColumn(table, 'merchant_country', n),
    source_file: internColumn(table, 'source_file', n),
    age: ints('age'),
    credit_limit: ints('credit_limit'),
    available_limit: ints('available_limit'),
    source_line: ints('source_line'),
    amount: numberColumn(table, 'amount', n, (k) => new Float64Array(k), amount_valid),
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
