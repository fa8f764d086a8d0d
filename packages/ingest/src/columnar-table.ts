import { Float64, Int32, RecordBatch, Struct, Table, Utf8, makeData, type Data, type Schema } from 'apache-arrow';
import type { ColumnarBucket, ColumnarParsedFile, IdentityEntry, MerchantEntry } from './parse-fast';

/** One file's rows of a partition. */
export interface PartitionPart {
  readonly parsed: ColumnarParsedFile;
  readonly bucket: ColumnarBucket;
}

const encoder = new TextEncoder();
// UTF-8 bytes of every dictionary entry's fields, computed once per parsed file.
const entryBytes = new WeakMap<object, Map<string, (Uint8Array | null)[]>>();

function bytesOf<E extends object>(owner: ColumnarParsedFile, entries: readonly E[], field: keyof E & string): (Uint8Array | null)[] {
  let byField = entryBytes.get(owner);
  if (!byField) entryBytes.set(owner, (byField = new Map()));
  let out = byField.get(field);
  if (!out || out.length !== entries.length) {
    out = entries.map((e) => {
      const v = e[field];
      return v === null ? null : encoder.encode(String(v));
    });
    byField.set(field, out);
  }
  return out;
}

function bitmapOf(length: number, isNull: (i: number) => boolean): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (let i = 0; i < length; i++) if (isNull(i)) nulls += 1;
  if (nulls === 0) return { bitmap: undefined, nulls };
  const bitmap = new Uint8Array((length + 7) >> 3);
  for (let i = 0; i < length; i++) if (!isNull(i)) bitmap[i >> 3]! |= 1 << (i & 7);
  return { bitmap, nulls };
}

// A Utf8 column whose row i (over the parts in order) is values(part)[index(part)[i]].
function dictUtf8(parts: readonly PartitionPart[], length: number, values: (p: PartitionPart) => (Uint8Array | null)[], index: (b: ColumnarBucket) => Int32Array): Data<Utf8> {
  const rowBytes: (Uint8Array | null)[] = new Array(length);
  let r = 0;
  for (const p of parts) {
    const v = values(p);
    const idx = index(p.bucket);
    for (let i = 0; i < p.bucket.length; i++) rowBytes[r++] = v[idx[i]!]!;
  }
  return utf8(rowBytes);
}

function utf8(rowBytes: readonly (Uint8Array | null)[]): Data<Utf8> {
  const length = rowBytes.length;
  const { bitmap, nulls } = bitmapOf(length, (i) => rowBytes[i] === null);
  const offsets = new Int32Array(length + 1);
  let total = 0;
  for (let i = 0; i < length; i++) {
    total += rowBytes[i]?.length ?? 0;
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  // A plain loop: the values are short, and TypedArray.set costs more per call than it saves.
  for (let i = 0; i < length; i++) {
    const b = rowBytes[i];
    if (!b) continue;
    const at = offsets[i]!;
    for (let k = 0; k < b.length; k++) data[at + k] = b[k]!;
  }
  return makeData({ type: new Utf8(), length, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, data });
}

// txn_id = "<file>#<line>", written byte by byte.
function txnIds(parts: readonly PartitionPart[], length: number): Data<Utf8> {
  const offsets = new Int32Array(length + 1);
  let total = 0;
  let r = 0;
  for (const p of parts) {
    const fileLen = encoder.encode(p.parsed.file).length + 1;
    const lines = p.bucket.source_line;
    for (let i = 0; i < p.bucket.length; i++) {
      total += fileLen + digitCount(lines[i]!);
      offsets[++r] = total;
    }
  }
  const data = new Uint8Array(total);
  r = 0;
  for (const p of parts) {
    const prefix = encoder.encode(`${p.parsed.file}#`);
    const lines = p.bucket.source_line;
    for (let i = 0; i < p.bucket.length; i++) {
      let at = offsets[r]!;
      data.set(prefix, at);
      at += prefix.length;
      let v = lines[i]!;
      const end = offsets[r + 1]!;
      for (let k = end - 1; k >= at; k--) {
        data[k] = 48 + (v % 10);
        v = Math.floor(v / 10);
      }
      r++;
    }
  }
  return makeData({ type: new Utf8(), length, nullCount: 0, valueOffsets: offsets, data });
}

function digitCount(v: number): number {
  let n = 1;
  while (v >= 10) {
    v = Math.floor(v / 10);
    n++;
  }
  return n;
}

function concatInt32(parts: readonly PartitionPart[], length: number, pick: (b: ColumnarBucket) => Int32Array): Int32Array {
  const out = new Int32Array(length);
  let r = 0;
  for (const p of parts) {
    out.set(pick(p.bucket).subarray(0, p.bucket.length), r);
    r += p.bucket.length;
  }
  return out;
}

/**
 * The Arrow table of one partition straight from typed columns (the parts in order: files sorted by name,
 * rows by line). Produces exactly the table `buildTable(schema, bucketColumns(...))` gives (same buffers,
 * so the same Parquet bytes) without materialising per-row values.
 */
export function columnarTable(schema: Schema, date: string, parts: readonly PartitionPart[]): Table {
  const length = parts.reduce((s, p) => s + p.bucket.length, 0);
  const ident = (field: keyof IdentityEntry & string) => (p: PartitionPart) => bytesOf(p.parsed, p.parsed.identities, field);
  const merch = (field: keyof MerchantEntry & string) => (p: PartitionPart) => bytesOf(p.parsed, p.parsed.merchants, field);
  const constant = (value: (p: PartitionPart) => string): Data<Utf8> => {
    const rows: Uint8Array[] = new Array(length);
    let r = 0;
    for (const p of parts) {
      const b = encoder.encode(value(p));
      for (let i = 0; i < p.bucket.length; i++) rows[r++] = b;
    }
    return utf8(rows);
  };
  const children = schema.fields.map((field): Data => {
    switch (field.name) {
      case 'txn_id':
        return txnIds(parts, length);
      case 'customer_key':
      case 'account_cohort':
      case 'city':
      case 'state':
      case 'sex':
        return dictUtf8(parts, length, ident(field.name), (b) => b.identity);
      case 'merchant_group':
      case 'merchant_city':
      case 'merchant_country':
        return dictUtf8(parts, length, merch(field.name), (b) => b.merchant);
      case 'date':
        return constant(() => date);
      case 'source_file':
        return constant((p) => p.parsed.file);
      case 'age': {
        const out = new Int32Array(length);
        let r = 0;
        for (const p of parts) for (let i = 0; i < p.bucket.length; i++) out[r++] = p.parsed.identities[p.bucket.identity[i]!]!.age;
        return makeData({ type: new Int32(), length, nullCount: 0, data: out });
      }
      case 'credit_limit':
      case 'available_limit':
      case 'source_line': {
        const name = field.name;
        return makeData({ type: new Int32(), length, nullCount: 0, data: concatInt32(parts, length, (b) => b[name]) });
      }
      case 'amount': {
        const out = new Float64Array(length);
        let r = 0;
        for (const p of parts) {
          out.set(p.bucket.amount.subarray(0, p.bucket.length), r);
          r += p.bucket.length;
        }
        const { bitmap, nulls } = bitmapOf(length, (i) => Number.isNaN(out[i]!));
        for (let i = 0; i < length; i++) if (Number.isNaN(out[i]!)) out[i] = 0;
        return makeData({ type: new Float64(), length, nullCount: nulls, nullBitmap: bitmap, data: out });
      }
      default:
        throw new Error(`columnarTable: no source for column "${field.name}"`);
    }
  });
  for (const [i, field] of schema.fields.entries()) {
    const expected = field.type instanceof Utf8 ? Utf8 : field.type instanceof Int32 ? Int32 : Float64;
    if (!(children[i]!.type instanceof expected)) throw new Error(`columnarTable: column "${field.name}" is ${String(children[i]!.type)}, schema says ${String(field.type)}`);
  }
  const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}
