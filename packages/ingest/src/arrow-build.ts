import { Float64, Int32, RecordBatch, Struct, Table, Utf8, makeData, type Data, type Schema } from 'apache-arrow';

const encoder = new TextEncoder();

function validity(values: readonly unknown[]): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (const v of values) if (v === null || v === undefined) nulls += 1;
  if (nulls === 0) return { bitmap: undefined, nulls };
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++)
    if (values[i] !== null && values[i] !== undefined) bitmap[i >> 3]! |= 1 << (i & 7);
  return { bitmap, nulls };
}

function utf8Data(values: readonly unknown[], cache: Map<string, Uint8Array>): Data<Utf8> {
  const { bitmap, nulls } = validity(values);
  const offsets = new Int32Array(values.length + 1);
  const parts: Uint8Array[] = new Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let bytes: Uint8Array;
    if (v === null || v === undefined) bytes = new Uint8Array(0);
    else {
      const s = String(v);
      // Most columns repeat a few values (keys, cities, groups): encode each once.
      let hit = cache.get(s);
      if (hit === undefined) {
        hit = encoder.encode(s);
        if (cache.size < 200_000) cache.set(s, hit);
      }
      bytes = hit;
    }
    parts[i] = bytes;
    total += bytes.length;
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < parts.length; i++) data.set(parts[i]!, offsets[i]!);
  return makeData({
    type: new Utf8(),
    length: values.length,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data,
  });
}

/**
 * Build an Arrow table with exactly `schema` from column arrays, writing the Arrow buffers directly
 * (Utf8, Int32, Float64 columns). Several times faster than per-value builders for the many small
 * partitions ingest writes; `cache` keeps the UTF-8 bytes of repeated strings across calls.
 */
export function buildTable(
  schema: Schema,
  columns: Readonly<Record<string, readonly unknown[]>>,
  cache = new Map<string, Uint8Array>(),
): Table {
  const length = columns[schema.fields[0]!.name]?.length ?? 0;
  const children = schema.fields.map((field) => {
    const values = columns[field.name];
    if (!values) throw new Error(`buildTable: no values for column "${field.name}"`);
    if (values.length !== length)
      throw new Error(`buildTable: column "${field.name}" has ${values.length} values, expected ${length}`);
    if (field.type instanceof Utf8) return utf8Data(values, cache);
    const { bitmap, nulls } = validity(values);
    if (field.type instanceof Int32)
      return makeData({
        type: new Int32(),
        length,
        nullCount: nulls,
        nullBitmap: bitmap,
        data: Int32Array.from(values, (v) => (v == null ? 0 : (v as number))),
      });
    if (field.type instanceof Float64)
      return makeData({
        type: new Float64(),
        length,
        nullCount: nulls,
        nullBitmap: bitmap,
        data: Float64Array.from(values, (v) => (v == null ? 0 : (v as number))),
      });
    throw new Error(`buildTable: unsupported type ${String(field.type)} of "${field.name}"`);
  });
  const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: children as Data[] });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}
