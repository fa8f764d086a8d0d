import type { Table } from 'apache-arrow';

/** One cell of a column: what Parquet columns of the feature store hold. */
export type Cell = number | string | boolean | null;

/**
 * A columnar dataset: one plain array per column, all of the same length. The build logic works
 * column by column (quality, profile, selection), so columns beat row objects for speed and memory.
 */
export interface Frame {
  readonly length: number;
  readonly columns: Readonly<Record<string, Cell[]>>;
}

/** Column arrays of an Arrow table, nulls as `null`, BigInts as numbers. */
export function frameFromTable(table: Table): Frame {
  const columns: Record<string, Cell[]> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    const raw = vector.toArray() as ArrayLike<unknown>;
    const out: Cell[] = new Array(table.numRows);
    const hasNulls = vector.nullCount > 0;
    for (let i = 0; i < table.numRows; i++) {
      const v = hasNulls && !vector.isValid(i) ? null : raw[i];
      out[i] = typeof v === 'bigint' ? Number(v) : (v as Cell);
    }
    columns[field.name] = out;
  }
  return { length: table.numRows, columns };
}

/** Concatenate frames with the same columns (partitions in date order). */
export function concatFrames(frames: readonly Frame[]): Frame {
  if (frames.length === 0) return { length: 0, columns: {} };
  const names = Object.keys(frames[0]!.columns);
  const length = frames.reduce((n, f) => n + f.length, 0);
  const columns: Record<string, Cell[]> = {};
  for (const name of names) {
    const out: Cell[] = new Array(length);
    let k = 0;
    for (const f of frames) {
      const col = f.columns[name];
      if (!col) throw new Error(`concatFrames: a partition has no column "${name}"`);
      for (let i = 0; i < col.length; i++) out[k++] = col[i]!;
    }
    columns[name] = out;
  }
  return { length, columns };
}

/** Keep the rows at `index` (in that order). */
export function takeRows(frame: Frame, index: ArrayLike<number>): Frame {
  const columns: Record<string, Cell[]> = {};
  for (const [name, col] of Object.entries(frame.columns)) {
    const out: Cell[] = new Array(index.length);
    for (let i = 0; i < index.length; i++) out[i] = col[index[i]!]!;
    columns[name] = out;
  }
  return { length: index.length, columns };
}

/** A column or a clear error naming it. */
export function column(frame: Frame, name: string): Cell[] {
  const col = frame.columns[name];
  if (!col) throw new Error(`column "${name}" not found (have: ${Object.keys(frame.columns).join(', ')})`);
  return col;
}

/** Build a frame from row objects (tests and small inputs). */
export function frameFromRows(rows: readonly Readonly<Record<string, Cell>>[], names: readonly string[]): Frame {
  const columns: Record<string, Cell[]> = {};
  for (const n of names) columns[n] = rows.map((r) => (r[n] === undefined ? null : r[n]!));
  return { length: rows.length, columns };
}
