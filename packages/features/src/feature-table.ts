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
import { FEATURE_INDEX, type FeatureColumns } from '@bolsillo/core';
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

function gatherUtf8(src: RawUtf8Column, order: Int32Array): { valueOffsets: Int32Array; data: Uint8Array } {
  const n = order.length;
  const valueOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    total += src.offsets[i + 1]! - src.offsets[i]!;
    valueOffsets[k + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    data.set(src.bytes.subarray(src.offsets[i]!, src.offsets[i + 1]!), valueOffsets[k]!);
  }
  return { valueOffsets, data };
}

function validity(valid: Uint8Array, n: number): { nullCount: number; nullBitmap: Uint8Array | undefined } {
  const bits = bitmap(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
    else nullCount += 1;
  }
  return { nullCount, nullBitmap: nullCount > 0 ? bits : undefined };
}

function featureColumnData(field: Field, f: number, features: FeatureColumns, n: number): Data {
  const type = field.type;
  const { nullCount, nullBitmap } = validity(features.valid[f]!, n);
  const base = { type, length: n, nullCount, nullBitmap };
  if (type instanceof Float64) return makeData({ ...base, data: features.values[f]!.subarray(0, n) } as never);
  if (type instanceof Int32)
    return makeData({ ...base, data: Int32Array.from(features.values[f]!.subarray(0, n)) } as never);
  if (type instanceof Bool) {
    const values = bitmap(n);
    const v = features.values[f]!;
    for (let i = 0; i < n; i++) if (v[i] === 1) values[i >> 3]! |= 1 << (i & 7);
    return makeData({ ...base, data: values } as never);
  }
  if (type instanceof Utf8) {
    const text = features.text[f]!;
    const codes = features.codes[f]!;
    const dict = features.dicts[f]!;
    const parts: Buffer[] = new Array(n);
    const valueOffsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const b = features.valid[f]![i] ? utf8(features.categoryCodes ? dict[codes[i]!]! : text[i]!) : EMPTY;
      parts[i] = b;
      total += b.length;
      valueOffsets[i + 1] = total;
    }
    return makeData({ ...base, valueOffsets, data: new Uint8Array(Buffer.concat(parts, total)) } as never);
  }
  throw new Error(`featureTable: unsupported column type ${String(type)} for ${field.name}`);
}
const EMPTY = Buffer.alloc(0);

/**
 * A computed columnar batch as an Arrow table with exactly the feature-row schema: key columns are
 * the input's UTF-8 bytes copied in history order, feature columns are the kernel's sink arrays
 * (numbers zero-copy). Same table as {@link featureTable} on the equivalent rows.
 */
export function featureTableFromColumns(cols: TxnColumns, batch: ColumnarFeatureBatch): Table {
  const n = batch.order.length;
  const keys: Record<string, RawUtf8Column> = {
    txn_id: cols.txn_id,
    customer_key: cols.customer_key_bytes,
    date: cols.date_bytes,
  };
  const children = SCHEMA.fields.map((field) => {
    const key = keys[field.name];
    if (key) return makeData({ type: field.type as Utf8, length: n, nullCount: 0, ...gatherUtf8(key, batch.order) });
    const f = FEATURE_INDEX[field.name as FeatureName];
    if (f === undefined) throw new Error(`featureTable: no feature named ${field.name}`);
    return featureColumnData(field, f, batch.features, n);
  });
  const struct = makeData({ type: new Struct(SCHEMA.fields), length: n, nullCount: 0, children });
  return new Table(SCHEMA, [new RecordBatch(SCHEMA, struct)]);
}
