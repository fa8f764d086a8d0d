import { Float64, Int32, RecordBatch, Struct, Table, Utf8, makeData, type Data, type Schema } from 'apache-arrow';
import type { ColumnarBucket, ColumnarParsedFile, IdentityEntry, MerchantEntry } from './parse-fast';

/** One file's rows of a partition. */
export interface PartitionPart {
  readonly parsed: ColumnarParsedFile;
  readonly bucket: ColumnarBucket;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of one field over a dictionary's entries, back to back: entry j is `data[offsets[j], offsets[j+1])`. */
interface DictBytes {
  readonly data: Uint8Array;
  readonly offsets: Int32Array;
  /** 1 where the entry's value is null. */
  readonly isNull: Uint8Array;
  readonly nulls: number;
}

// Computed once per parsed file and field (and again only if the dictionary grew).
const entryBytes = new WeakMap<object, Map<string, DictBytes>>();

function bytesOf<E extends object>(
  owner: ColumnarParsedFile,
  entries: readonly E[],
  field: keyof E & string,
): DictBytes {
  let byField = entryBytes.get(owner);
  if (!byField) entryBytes.set(owner, (byField = new Map()));
  let out = byField.get(field);
  if (!out || out.isNull.length !== entries.length) {
    const encoded = entries.map((e) => {
      const v = e[field];
      return v === null ? null : encoder.encode(String(v));
    });
    out = dictOf(encoded);
    byField.set(field, out);
  }
  return out;
}

const entryAges = new WeakMap<object, Int32Array>();
function agesOf(owner: ColumnarParsedFile): Int32Array {
  let ages = entryAges.get(owner);
  if (!ages || ages.length !== owner.identities.length)
    entryAges.set(owner, (ages = Int32Array.from(owner.identities, (e) => e.age)));
  return ages;
}

function dictOf(encoded: readonly (Uint8Array | null)[]): DictBytes {
  const offsets = new Int32Array(encoded.length + 1);
  const isNull = new Uint8Array(encoded.length);
  let nulls = 0;
  for (const [j, b] of encoded.entries()) {
    if (b === null) {
      isNull[j] = 1;
      nulls += 1;
    }
    offsets[j + 1] = offsets[j]! + (b?.length ?? 0);
  }
  const data = new Uint8Array(offsets[encoded.length]!);
  for (const [j, b] of encoded.entries()) if (b) data.set(b, offsets[j]!);
  return { data, offsets, isNull, nulls };
}

function bitmapOf(length: number, isNull: (i: number) => boolean): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (let i = 0; i < length; i++) if (isNull(i)) nulls += 1;
  if (nulls === 0) return { bitmap: undefined, nulls };
  const bitmap = new Uint8Array((length + 7) >> 3);
  for (let i = 0; i < length; i++) if (!isNull(i)) bitmap[i >> 3]! |= 1 << (i & 7);
  return { bitmap, nulls };
}

/**
 * A Utf8 column whose row i (over the parts in order) is entry index(part)[i] of dict(part): offsets,
 * validity and value bytes written straight from the dictionary's packed bytes (two passes, no per-row
 * objects). Null entries add no bytes and a clear validity bit; no nulls, no bitmap (as apache-arrow does).
 */
function dictUtf8(
  parts: readonly PartitionPart[],
  length: number,
  dict: (p: PartitionPart) => DictBytes,
  index: (b: ColumnarBucket) => Int32Array,
): Data<Utf8> {
  const offsets = new Int32Array(length + 1);
  let nulls = 0;
  let total = 0;
  let r = 0;
  for (const p of parts) {
    const d = dict(p);
    const idx = index(p.bucket);
    const o = d.offsets;
    const n = p.bucket.length;
    if (d.nulls > 0) for (let i = 0; i < n; i++) nulls += d.isNull[idx[i]!]!;
    for (let i = 0; i < n; i++) {
      const j = idx[i]!;
      total += o[j + 1]! - o[j]!;
      offsets[++r] = total;
    }
  }
  let bitmap: Uint8Array | undefined;
  if (nulls > 0) {
    bitmap = new Uint8Array((length + 7) >> 3);
    r = 0;
    for (const p of parts) {
      const d = dict(p);
      const idx = index(p.bucket);
      for (let i = 0; i < p.bucket.length; i++, r++) if (d.isNull[idx[i]!] === 0) bitmap[r >> 3]! |= 1 << (r & 7);
    }
  }
  const data = new Uint8Array(total);
  r = 0;
  for (const p of parts) {
    const d = dict(p);
    const idx = index(p.bucket);
    const o = d.offsets;
    const src = d.data;
    for (let i = 0; i < p.bucket.length; i++) {
      const j = idx[i]!;
      // Short values byte by byte (TypedArray.set costs more per call than it saves), long ones (keys) by set.
      let at = offsets[r++]!;
      const a = o[j]!;
      const e = o[j + 1]!;
      if (e - a > 24) data.set(src.subarray(a, e), at);
      else for (let k = a; k < e; k++) data[at++] = src[k]!;
    }
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

function concatInt32(
  parts: readonly PartitionPart[],
  length: number,
  pick: (b: ColumnarBucket) => Int32Array,
): Int32Array {
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
  const ident = (field: keyof IdentityEntry & string) => (p: PartitionPart) =>
    bytesOf(p.parsed, p.parsed.identities, field);
  const merch = (field: keyof MerchantEntry & string) => (p: PartitionPart) =>
    bytesOf(p.parsed, p.parsed.merchants, field);
  // A column with one value per part (date, source file): a one-entry dictionary, every row index 0.
  const constant = (value: (p: PartitionPart) => string): Data<Utf8> => {
    const zeros = new Int32Array(parts.reduce((m, p) => Math.max(m, p.bucket.length), 0));
    const dicts = new Map(parts.map((p) => [p, dictOf([encoder.encode(value(p))])]));
    return dictUtf8(
      parts,
      length,
      (p) => dicts.get(p)!,
      () => zeros,
    );
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
        for (const p of parts) {
          const ages = agesOf(p.parsed);
          const idx = p.bucket.identity;
          for (let i = 0; i < p.bucket.length; i++) out[r++] = ages[idx[i]!]!;
        }
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
    if (!(children[i]!.type instanceof expected))
      throw new Error(
        `columnarTable: column "${field.name}" is ${String(children[i]!.type)}, schema says ${String(field.type)}`,
      );
  }
  const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}
