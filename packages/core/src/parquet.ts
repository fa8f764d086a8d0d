import fs from 'node:fs';
import { RecordBatch, Schema, Table, tableFromIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { writeFileAtomic } from './atomic';
import { tableToCompatibleParquet } from './parquet-compat';
import { parquetFileSet } from './parquet-set';

/** Options for {@link readParquetFile}: column projection. */
export interface ReadParquetOptions {
  readonly columns?: readonly string[];
}

/** Decode Parquet bytes into an Arrow table, optionally reading only some columns. */
export function parquetToTable(bytes: Uint8Array, options: ReadParquetOptions = {}): Table {
  // One record batch per row group: parquet-wasm's default of 1,024-row batches would make one IPC
  // message and one Arrow batch object per 1,024 rows, which dominates decoding a partition.
  const wasm = readParquet(bytes, {
    batchSize: 1 << 24,
    ...(options.columns ? { columns: [...options.columns] } : {}),
  });
  const table = tableFromIPC(wasm.intoIPCStream());
  // parquet-wasm 0.7's synchronous reader ignores `columns`; project here so callers get what they asked for.
  return options.columns ? table.select([...options.columns]) : table;
}

/** Write an Arrow table to a Parquet file atomically, with the compatible writer properties. */
export function writeParquetFile(file: string, table: Table): void {
  writeFileAtomic(file, tableToCompatibleParquet(table));
}

/** Read a Parquet file (with its continuations, `parquetFileSet`) into an Arrow table. */
export function readParquetFile(file: string, options: ReadParquetOptions = {}): Table {
  const [first, ...rest] = parquetFileSet(file).map((f) => parquetToTable(fs.readFileSync(f), options));
  return rest.length === 0 ? first! : first!.concat(...rest);
}

/**
 * Build an Arrow table with exactly `schema` (types and nullability) from column arrays.
 * Missing values are `null`.
 */
export function tableFromColumns(schema: Schema, columns: Readonly<Record<string, readonly unknown[]>>): Table {
  const vectors: Vector[] = schema.fields.map((field) => {
    const values = columns[field.name];
    if (!values) throw new Error(`tableFromColumns: no values for column "${field.name}"`);
    return vectorFromArray(values as unknown[], field.type);
  });
  const length = vectors[0]?.length ?? 0;
  for (const [i, v] of vectors.entries()) {
    if (v.length !== length)
      throw new Error(
        `tableFromColumns: column "${schema.fields[i]!.name}" has ${v.length} values, expected ${length}`,
      );
  }
  const loose = new Table(Object.fromEntries(schema.fields.map((f, i) => [f.name, vectors[i]!])));
  return new Table(
    schema,
    loose.batches.map((b) => new RecordBatch(schema, b.data)),
  );
}

/** Build an Arrow table with `schema` from row objects. */
export function tableFromRows(schema: Schema, rows: readonly Readonly<Record<string, unknown>>[]): Table {
  const columns: Record<string, unknown[]> = {};
  for (const field of schema.fields)
    columns[field.name] = rows.map((r) => (r[field.name] === undefined ? null : r[field.name]));
  return tableFromColumns(schema, columns);
}

/** Plain JS rows from an Arrow table (BigInts become numbers). Convenient for small tables and tests. */
export function rowsFromTable<T = Record<string, unknown>>(table: Table): T[] {
  const names = table.schema.fields.map((f) => f.name);
  const cols = names.map((n) => table.getChild(n)!.toArray() as ArrayLike<unknown>);
  const valid = names.map((n) => table.getChild(n)!);
  const out: T[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) {
      const v = valid[c]!.isValid(i) ? cols[c]![i] : null;
      row[names[c]!] = typeof v === 'bigint' ? Number(v) : v;
    }
    out[i] = row as T;
  }
  return out;
}
