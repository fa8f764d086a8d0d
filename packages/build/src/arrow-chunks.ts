import { DataType, makeData, RecordBatch, Struct, Table, type Data, type Field, type Schema } from 'apache-arrow';
import { BooleanColumn, NumberColumn, StringColumn, Utf8Column, type Column } from './frame';

/** Dictionaries up to this size have each entry's UTF-8 bytes encoded once and reused. */
const CACHED_DICT_MAX = 1 << 16;

/** Validity bitmap (bit set = valid) of rows [from, to), or null when every row is valid. */
function validity(
  isNull: (i: number) => boolean,
  from: number,
  to: number,
): { bitmap: Uint8Array | undefined; nulls: number } {
  let bitmap: Uint8Array | undefined;
  let nulls = 0;
  for (let i = from; i < to; i++) {
    if (!isNull(i)) continue;
    if (!bitmap) bitmap = new Uint8Array(((to - from + 7) >> 3) + 1).fill(0xff);
    const k = i - from;
    bitmap[k >> 3]! &= ~(1 << (k & 7));
    nulls++;
  }
  return { bitmap, nulls };
}

/** UTF-8 bytes of a dictionary's entries, encoded on first use (small dictionaries only). */
const utf8Cache = new WeakMap<readonly string[], (Buffer | undefined)[]>();

function utf8Data(field: Field, col: StringColumn, from: number, to: number): Data {
  const n = to - from;
  const { bitmap, nulls } = validity((i) => col.codes[i]! < 0, from, to);
  const offsets = new Int32Array(n + 1);
  const small = col.dict.length <= CACHED_DICT_MAX;
  let cache = small ? utf8Cache.get(col.dict) : undefined;
  if (small && !cache) utf8Cache.set(col.dict, (cache = new Array(col.dict.length)));
  let bytes = 0;
  for (let k = 0; k < n; k++) {
    const c = col.codes[from + k]!;
    if (c >= 0) {
      if (cache) bytes += (cache[c] ??= Buffer.from(col.dict[c]!, 'utf8')).length;
      else bytes += Buffer.byteLength(col.dict[c]!, 'utf8');
    }
    offsets[k + 1] = bytes;
  }
  const data = Buffer.alloc(bytes);
  for (let k = 0; k < n; k++) {
    const c = col.codes[from + k]!;
    if (c < 0) continue;
    if (cache) cache[c]!.copy(data, offsets[k]!);
    else data.write(col.dict[c]!, offsets[k]!, 'utf8');
  }
  return makeData({
    type: field.type,
    length: n,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  });
}

function rawUtf8Data(field: Field, col: Utf8Column, from: number, to: number): Data {
  const n = to - from;
  const valid = col.valid;
  const { bitmap, nulls } = validity((i) => valid !== null && valid[i] === 0, from, to);
  const base = col.offsets[from]!;
  const offsets = new Int32Array(n + 1);
  for (let k = 1; k <= n; k++) offsets[k] = col.offsets[from + k]! - base;
  const data = col.bytes.slice(base, col.offsets[to]!);
  return makeData({ type: field.type, length: n, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, data });
}

function numberData(field: Field, col: NumberColumn, from: number, to: number): Data {
  const n = to - from;
  const valid = col.valid;
  const { bitmap, nulls } = validity((i) => valid !== null && valid[i] === 0, from, to);
  const src = col.values.subarray(from, to);
  const data = DataType.isInt(field.type) ? Int32Array.from(src) : Float64Array.from(src);
  if (nulls) for (let k = 0; k < n; k++) if (valid![from + k] === 0) data[k] = 0;
  return makeData({ type: field.type, length: n, nullCount: nulls, nullBitmap: bitmap, data } as never);
}

function boolData(field: Field, col: BooleanColumn, from: number, to: number): Data {
  const n = to - from;
  const { bitmap, nulls } = validity((i) => col.values[i] === 2, from, to);
  const bits = new Uint8Array(((n + 7) >> 3) + 1);
  for (let k = 0; k < n; k++) if (col.values[from + k] === 1) bits[k >> 3]! |= 1 << (k & 7);
  return makeData({ type: field.type, length: n, nullCount: nulls, nullBitmap: bitmap, data: bits } as never);
}

/** Whether the typed column can be turned into the field's Arrow type directly. */
export function directlyConvertible(field: Field, col: Column): boolean {
  const t = field.type;
  if (DataType.isUtf8(t)) return col instanceof StringColumn || col instanceof Utf8Column;
  if (DataType.isBool(t)) return col instanceof BooleanColumn;
  if (DataType.isFloat(t)) return col instanceof NumberColumn && t.precision === 2;
  if (DataType.isInt(t)) return col instanceof NumberColumn && t.bitWidth === 32 && t.isSigned;
  return false;
}

/**
 * Rows [from, to) of typed columns as an Arrow table with `schema`, built from the typed arrays
 * directly (no per-cell builder calls; each small dictionary's strings are UTF-8 encoded once).
 * Every column must pass {@link directlyConvertible}.
 */
export function tableFromTypedColumns(schema: Schema, cols: readonly Column[], from: number, to: number): Table {
  const children = schema.fields.map((f, c) => {
    const col = cols[c]!;
    if (col instanceof StringColumn) return utf8Data(f, col, from, to);
    if (col instanceof Utf8Column) return rawUtf8Data(f, col, from, to);
    if (col instanceof BooleanColumn) return boolData(f, col, from, to);
    return numberData(f, col as NumberColumn, from, to);
  });
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: to - from, nullCount: 0, children }),
  );
  return new Table(schema, [batch]);
}
