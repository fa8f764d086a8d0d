import { DataType, type Table } from 'apache-arrow';

/** One cell of a column: what Parquet columns of the feature store hold. */
export type Cell = number | string | boolean | null;

/**
 * One typed column: numbers in a Float64Array, booleans in a Uint8Array, strings dictionary-encoded
 * (Int32 codes into a list of distinct values). A row costs 1–9 bytes per column instead of a
 * boxed JS value (8–24 bytes, plus a string per row), which is what lets the build hold ten
 * million rows. `get` gives the plain cell (`null` when missing) for code that does not care.
 */
export interface Column {
  readonly kind: 'number' | 'boolean' | 'string';
  readonly length: number;
  get(i: number): Cell;
  /** The same column in the order of `index` (rows repeated or dropped as `index` says). */
  take(index: ArrayLike<number>): Column;
}

/** Numbers; `valid[i] === 0` marks a missing value (null). */
export class NumberColumn implements Column {
  readonly kind = 'number' as const;
  constructor(
    readonly values: Float64Array,
    readonly valid: Uint8Array | null,
  ) {}
  get length(): number {
    return this.values.length;
  }
  get(i: number): number | null {
    return this.valid && this.valid[i] === 0 ? null : this.values[i]!;
  }
  take(index: ArrayLike<number>): NumberColumn {
    const v = new Float64Array(index.length);
    const ok = this.valid ? new Uint8Array(index.length) : null;
    for (let k = 0; k < index.length; k++) {
      v[k] = this.values[index[k]!]!;
      if (ok) ok[k] = this.valid![index[k]!]!;
    }
    return new NumberColumn(v, ok);
  }
}

/** Booleans: 0 false, 1 true, 2 missing. */
export class BooleanColumn implements Column {
  readonly kind = 'boolean' as const;
  constructor(readonly values: Uint8Array) {}
  get length(): number {
    return this.values.length;
  }
  get(i: number): boolean | null {
    const v = this.values[i]!;
    return v === 2 ? null : v === 1;
  }
  take(index: ArrayLike<number>): BooleanColumn {
    const v = new Uint8Array(index.length);
    for (let k = 0; k < index.length; k++) v[k] = this.values[index[k]!]!;
    return new BooleanColumn(v);
  }
}

/** Dictionary-encoded strings: `dict[codes[i]]`, code -1 missing. Columns may share a dictionary. */
export class StringColumn implements Column {
  readonly kind = 'string' as const;
  constructor(
    readonly codes: Int32Array,
    readonly dict: readonly string[],
  ) {}
  get length(): number {
    return this.codes.length;
  }
  get(i: number): string | null {
    const c = this.codes[i]!;
    return c < 0 ? null : this.dict[c]!;
  }
  take(index: ArrayLike<number>): StringColumn {
    const c = new Int32Array(index.length);
    for (let k = 0; k < index.length; k++) c[k] = this.codes[index[k]!]!;
    return new StringColumn(c, this.dict);
  }
}

/**
 * A columnar dataset: one typed column per name, all of the same length. The build logic works
 * column by column (quality, profile, selection), so columns beat row objects for speed and memory.
 */
export interface Frame {
  readonly length: number;
  readonly columns: Readonly<Record<string, Column>>;
}

/** Column from plain cells: the kind is the first non-null value's type (all-null columns are numbers). */
export function columnFromCells(cells: readonly Cell[]): Column {
  const first = cells.find((v) => v !== null && v !== undefined);
  const n = cells.length;
  if (typeof first === 'string') {
    const b = new StringBuilder();
    for (const v of cells) b.push(v === null || v === undefined ? null : String(v));
    return b.finish();
  }
  if (typeof first === 'boolean') {
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = cells[i] === null || cells[i] === undefined ? 2 : cells[i] ? 1 : 0;
    return new BooleanColumn(v);
  }
  const values = new Float64Array(n);
  let valid: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const v = cells[i];
    if (typeof v === 'number') values[i] = v;
    else {
      valid ??= new Uint8Array(n).fill(1);
      valid[i] = 0;
      values[i] = NaN;
    }
  }
  return new NumberColumn(values, valid);
}

/** Appends strings, interning each distinct value once. */
class StringBuilder {
  private codes: Int32Array = new Int32Array(1024);
  private n = 0;
  private readonly dict: string[] = [];
  private readonly index = new Map<string, number>();
  push(v: string | null): void {
    if (this.n === this.codes.length) this.codes = growI32(this.codes, this.n * 2);
    if (v === null) {
      this.codes[this.n++] = -1;
      return;
    }
    let c = this.index.get(v);
    if (c === undefined) {
      c = this.dict.length;
      this.dict.push(v);
      this.index.set(v, c);
    }
    this.codes[this.n++] = c;
  }
  finish(): StringColumn {
    return new StringColumn(this.codes.slice(0, this.n), this.dict);
  }
}

function growI32(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}
function growF64(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(a);
  return b;
}

type Builder =
  | { kind: 'number'; values: Float64Array; valid: Uint8Array; nulls: number }
  | { kind: 'boolean'; values: Uint8Array }
  | { kind: 'string'; b: StringBuilder };

/**
 * Builds a {@link Frame} from Arrow tables appended one after another (partitions in date order),
 * converting each to typed columns right away so only one partition is ever held as Arrow data.
 */
export class FrameBuilder {
  private builders: Map<string, Builder> | null = null;
  private n = 0;
  private cap = 0;

  get length(): number {
    return this.n;
  }

  append(table: Table): void {
    if (!this.builders) {
      this.builders = new Map();
      for (const f of table.schema.fields) {
        const t = f.type;
        const kind: Builder['kind'] = DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isDictionary(t) ? 'string' : DataType.isBool(t) ? 'boolean' : 'number';
        this.builders.set(
          f.name,
          kind === 'string' ? { kind, b: new StringBuilder() } : kind === 'boolean' ? { kind, values: new Uint8Array(0) } : { kind, values: new Float64Array(0), valid: new Uint8Array(0), nulls: 0 },
        );
      }
    }
    const rows = table.numRows;
    const need = this.n + rows;
    if (need > this.cap) {
      this.cap = Math.max(need, Math.ceil(this.cap * 1.5), 1024);
      for (const b of this.builders.values()) {
        if (b.kind === 'number') {
          b.values = growF64(b.values, this.cap);
          b.valid = growU8(b.valid, this.cap);
        } else if (b.kind === 'boolean') b.values = growU8(b.values, this.cap);
      }
    }
    for (const [name, b] of this.builders) {
      const vector = table.getChild(name);
      if (!vector) throw new Error(`FrameBuilder: a partition has no column "${name}"`);
      const hasNulls = vector.nullCount > 0;
      if (b.kind === 'string') {
        for (let i = 0; i < rows; i++) b.b.push(hasNulls && !vector.isValid(i) ? null : (vector.get(i) as string));
      } else {
        const raw = vector.toArray() as ArrayLike<unknown>;
        for (let i = 0; i < rows; i++) {
          const ok = !hasNulls || vector.isValid(i);
          const v = raw[i];
          if (b.kind === 'boolean') b.values[this.n + i] = ok ? (v ? 1 : 0) : 2;
          else {
            b.values[this.n + i] = ok ? Number(v) : NaN;
            b.valid[this.n + i] = ok ? 1 : 0;
            if (!ok) b.nulls++;
          }
        }
      }
    }
    this.n = need;
  }

  /** The frame (the builder must not be used afterwards). */
  finish(): Frame {
    const columns: Record<string, Column> = {};
    for (const [name, b] of this.builders ?? []) {
      if (b.kind === 'string') columns[name] = b.b.finish();
      else if (b.kind === 'boolean') columns[name] = new BooleanColumn(b.values.slice(0, this.n));
      else columns[name] = new NumberColumn(b.values.slice(0, this.n), b.nulls ? b.valid.slice(0, this.n) : null);
    }
    this.builders = null;
    return { length: this.n, columns };
  }
}

/** Typed columns of one Arrow table. */
export function frameFromTable(table: Table): Frame {
  const b = new FrameBuilder();
  b.append(table);
  return b.finish();
}

/** Concatenate frames with the same columns (partitions in date order). */
export function concatFrames(frames: readonly Frame[]): Frame {
  if (frames.length === 0) return { length: 0, columns: {} };
  const names = Object.keys(frames[0]!.columns);
  const length = frames.reduce((n, f) => n + f.length, 0);
  const columns: Record<string, Column> = {};
  for (const name of names) {
    const cells: Cell[] = new Array(length);
    let k = 0;
    for (const f of frames) {
      const col = f.columns[name];
      if (!col) throw new Error(`concatFrames: a partition has no column "${name}"`);
      for (let i = 0; i < col.length; i++) cells[k++] = col.get(i);
    }
    columns[name] = columnFromCells(cells);
  }
  return { length, columns };
}

/** Keep the rows at `index` (in that order). */
export function takeRows(frame: Frame, index: ArrayLike<number>): Frame {
  const columns: Record<string, Column> = {};
  for (const [name, col] of Object.entries(frame.columns)) columns[name] = col.take(index);
  return { length: index.length, columns };
}

/**
 * Reorder a frame to `index`, one column at a time, dropping each old column as soon as its
 * reordered copy exists: the peak is one extra column, not a second frame.
 */
export function reorderInPlace(frame: Frame, index: ArrayLike<number>): Frame {
  const columns = frame.columns as Record<string, Column>;
  for (const name of Object.keys(columns)) columns[name] = columns[name]!.take(index);
  return { length: index.length, columns };
}

/** A column or a clear error naming it. */
export function column(frame: Frame, name: string): Column {
  const col = frame.columns[name];
  if (!col) throw new Error(`column "${name}" not found (have: ${Object.keys(frame.columns).join(', ')})`);
  return col;
}

/** The cells of a column as a plain array (small frames, tests and reports). */
export function cellsOf(col: Column): Cell[] {
  const out: Cell[] = new Array(col.length);
  for (let i = 0; i < col.length; i++) out[i] = col.get(i);
  return out;
}

/** Build a frame from row objects (tests and small inputs). */
export function frameFromRows(rows: readonly Readonly<Record<string, Cell>>[], names: readonly string[]): Frame {
  const columns: Record<string, Column> = {};
  for (const n of names) columns[n] = columnFromCells(rows.map((r) => (r[n] === undefined ? null : r[n]!)));
  return { length: rows.length, columns };
}

/** Cells as either a plain array or a typed {@link Column}. */
export type CellSource = readonly Cell[] | Column;

/** A reader of cells by index for either representation (resolved once, outside the hot loop). */
export function cellReader(values: CellSource): (i: number) => Cell {
  if (Array.isArray(values)) {
    const arr = values as readonly Cell[];
    return (i) => (arr[i] === undefined ? null : arr[i]!);
  }
  const col = values as Column;
  return (i) => col.get(i);
}
