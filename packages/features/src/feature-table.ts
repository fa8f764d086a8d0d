import {
  Bool,
  Float64,
  Int32,
  RecordBatch,
  Struct,
  Table,
  Utf8,
  makeData,
  type Data,
  type Field,
  type Schema,
} from 'apache-arrow';
import { FEATURE_INDEX } from '@bolsillo/core';
import {
  FEATURE_KEY_COLUMNS,
  FeatureRowSchema,
  arrowSchemaFor,
  type FeatureName,
  type FeatureRow,
  type FeatureValues,
} from '@bolsillo/schema';
import type { ColumnarFeatureBatch } from './pipeline';
import type { RawUtf8Column, TxnColumns } from './txn-columns';

const SCHEMA: Schema = arrowSchemaFor(FeatureRowSchema);

function bitmap(length: number): Uint8Array {
  return new Uint8Array((length + 7) >> 3);
}

/** Interned UTF-8 bytes: most string columns (customer, group, sex, state, date) repeat a few values. */
const utf8Cache = new Map<string, Buffer>();
function utf8(value: string): Buffer {
  let b = utf8Cache.get(value);
  if (b === undefined) {
    b = Buffer.from(value, 'utf8');
    if (utf8Cache.size > 200_000) utf8Cache.clear();
    utf8Cache.set(value, b);
  }
  return b;
}

type Keys = Pick<FeatureRow, (typeof FEATURE_KEY_COLUMNS)[number]>;
const KEYS: ReadonlySet<string> = new Set(FEATURE_KEY_COLUMNS);

function column(field: Field, source: readonly (Keys | FeatureValues)[]): Data {
  const rows = source as readonly Record<string, unknown>[];
  const n = rows.length;
  const name = field.name;
  const valid = bitmap(n);
  let nullCount = 0;
  const markValid = (i: number, v: unknown) => {
    if (v === null || v === undefined) {
      nullCount += 1;
      return false;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    return true;
  };
  const type = field.type;
  const finish = <T extends object>(props: T) => ({
    type,
    length: n,
    nullCount,
    nullBitmap: nullCount > 0 ? valid : undefined,
    ...props,
  });
  if (type instanceof Float64) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name] as number | null;
      if (markValid(i, v)) values[i] = v!;
    }
    return makeData(finish({ data: values }) as never);
  }
  if (type instanceof Int32) {
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name] as number | null;
      if (markValid(i, v)) values[i] = v!;
    }
    return makeData(finish({ data: values }) as never);
  }
  if (type instanceof Bool) {
    const values = bitmap(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name] as boolean | null;
      if (markValid(i, v) && v) values[i >> 3]! |= 1 << (i & 7);
    }
    return makeData(finish({ data: values }) as never);
  }
  if (type instanceof Utf8) {
    const parts: Buffer[] = new Array(n);
    const offsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name] as string | null;
      const b = markValid(i, v) ? utf8(v!) : Buffer.alloc(0);
      parts[i] = b;
      total += b.length;
      offsets[i + 1] = total;
    }
    return makeData(finish({ valueOffsets: offsets, data: new Uint8Array(Buffer.concat(parts, total)) }) as never);
  }
  throw new Error(`featureTable: unsupported column type ${String(type)} for ${field.name}`);
}

/**
 * Feature rows as an Arrow table with exactly the feature-row schema, built column by column into
 * typed arrays (several times faster than a generic builder; this is the offline store's hot path).
 * Key columns come from `keys` and features from `values` (the same rows by default), so the
 * pipeline never has to merge the two into one object per row.
 */
export function featureTable(
  keys: readonly Keys[],
  values: readonly FeatureValues[] = keys as readonly FeatureRow[],
): Table {
  if (values.length !== keys.length)
    throw new Error(`featureTable: ${keys.length} keys but ${values.length} value rows`);
  const children = SCHEMA.fields.map((f) => column(f, KEYS.has(f.name) ? keys : values));
  const struct = makeData({ type: new Struct(SCHEMA.fields), length: keys.length, nullCount: 0, children });
  return new Table(SCHEMA, [new RecordBatch(SCHEMA, struct)]);
}

/** The lake is written in history order, so the order is usually the identity. */
function isIdentity(order: Int32Array): boolean {
  for (let k = 0; k < order.length; k++) if (order[k] !== k) return false;
  return true;
}

function gatherUtf8(
  src: RawUtf8Column,
  order: Int32Array,
  identity: boolean,
): { valueOffsets: Int32Array; data: Uint8Array } {
  const n = order.length;
  if (identity) {
    // Views, not copies: the table is only read (encoding copies its buffers).
    const from = src.offsets[0]!;
    const valueOffsets = from === 0 ? src.offsets.subarray(0, n + 1) : src.offsets.slice(0, n + 1).map((o) => o - from);
    return { valueOffsets, data: src.bytes.subarray(from, src.offsets[n]) };
  }
  const { offsets, bytes } = src;
  const valueOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    total += offsets[i + 1]! - offsets[i]!;
    valueOffsets[k + 1] = total;
  }
  const data = new Uint8Array(total);
  // A byte loop: values are short (ids, digests, dates), a subarray per row would cost more.
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    let at = valueOffsets[k]!;
    for (let j = offsets[i]!, end = offsets[i + 1]!; j < end; j++) data[at++] = bytes[j]!;
  }
  return { valueOffsets, data };
}

function validity(valid: Uint8Array, n: number): { nullCount: number; nullBitmap: Uint8Array | undefined } {
  // Most features have no null: one native scan instead of a bitmap built bit by bit.
  const firstNull = valid.indexOf(0);
  if (firstNull < 0 || firstNull >= n) return { nullCount: 0, nullBitmap: undefined };
  const bits = bitmap(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
    else nullCount += 1;
  }
  return { nullCount, nullBitmap: nullCount > 0 ? bits : undefined };
}

/**
 * The kernel's output arrays for one batch (a {@link FeatureColumns}, or its arrays moved to a Parquet
 * thread): per feature, values and validity; category features as codes into `dicts`, or as `text`.
 */
export interface FeatureArrays {
  readonly values: readonly Float64Array[];
  readonly valid: readonly Uint8Array[];
  readonly codes: readonly Int32Array[];
  readonly dicts: readonly (readonly string[])[];
  readonly text?: readonly (readonly string[])[];
  readonly categoryCodes: boolean;
}

/** The UTF-8 of the key columns of a batch's input rows. */
export interface FeatureKeyColumns {
  readonly txn_id: RawUtf8Column;
  readonly customer_key: RawUtf8Column;
  readonly date: RawUtf8Column;
}

function featureColumnData(field: Field, f: number, features: FeatureArrays, n: number): Data {
  const type = field.type;
  const { nullCount, nullBitmap } = validity(features.valid[f]!, n);
  const base = { type, length: n, nullCount, nullBitmap };
  const v = features.values[f]!;
  if (type instanceof Float64) return makeData({ ...base, data: v.subarray(0, n) } as never);
  if (type instanceof Int32) {
    const ints = new Int32Array(n);
    ints.set(v.subarray(0, n)); // the values are whole numbers
    return makeData({ ...base, data: ints } as never);
  }
  if (type instanceof Bool) {
    const bits = bitmap(n);
    for (let i = 0; i < n; i++) if (v[i] === 1) bits[i >> 3]! |= 1 << (i & 7);
    return makeData({ ...base, data: bits } as never);
  }
  if (type instanceof Utf8) return makeData({ ...base, ...categoryUtf8(f, features, n) } as never);
  throw new Error(`featureTable: unsupported column type ${String(type)} for ${field.name}`);
}

/** A category feature's UTF-8: from codes, each dictionary word encoded once per batch; or from text. */
function categoryUtf8(f: number, features: FeatureArrays, n: number): { valueOffsets: Int32Array; data: Uint8Array } {
  const valid = features.valid[f]!;
  const words = features.categoryCodes ? features.dicts[f]!.map((s) => utf8(s)) : null;
  const codes = features.codes[f]!;
  const text = features.text?.[f] ?? [];
  const word = (i: number) => (words ? words[codes[i]!]! : utf8(text[i]!));
  const valueOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) total += word(i).length;
    valueOffsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < n; i++) if (valid[i]) data.set(word(i), valueOffsets[i]!);
  return { valueOffsets, data };
}

/**
 * A computed batch as an Arrow table with exactly the feature-row schema: key columns are the input's
 * UTF-8 bytes in history order (`order[k]` is the input row at position k), feature columns the kernel's
 * arrays (numbers zero-copy). Same table as {@link featureTable} on the equivalent rows.
 */
export function featureTableFromArrays(keys: FeatureKeyColumns, order: Int32Array, features: FeatureArrays): Table {
  const n = order.length;
  const identity = isIdentity(order);
  const children = SCHEMA.fields.map((field) => {
    const key = KEYS.has(field.name) ? keys[field.name as keyof FeatureKeyColumns] : undefined;
    if (key)
      return makeData({ type: field.type as Utf8, length: n, nullCount: 0, ...gatherUtf8(key, order, identity) });
    const f = FEATURE_INDEX[field.name as FeatureName];
    if (f === undefined) throw new Error(`featureTable: no feature named ${field.name}`);
    return featureColumnData(field, f, features, n);
  });
  const struct = makeData({ type: new Struct(SCHEMA.fields), length: n, nullCount: 0, children });
  return new Table(SCHEMA, [new RecordBatch(SCHEMA, struct)]);
}

/** The key columns of a batch's input. */
export function featureKeys(cols: TxnColumns): FeatureKeyColumns {
  return { txn_id: cols.txn_id, customer_key: cols.customer_key_bytes, date: cols.date_bytes };
}

/** {@link featureTableFromArrays} for a batch computed on this thread. */
export function featureTableFromColumns(cols: TxnColumns, batch: ColumnarFeatureBatch): Table {
  return featureTableFromArrays(featureKeys(cols), batch.order, batch.features);
}
