import { DataType, type Data, type Table, type Vector } from 'apache-arrow';

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

/**
 * Numbers; `valid[i] === 0` marks a missing value (null). Integer columns (Arrow Int8–Int32)
 * hold their values in an Int32Array (4 bytes a row instead of 8; exact either way).
 */
export class NumberColumn implements Column {
  readonly kind = 'number' as const;
  constructor(
    readonly values: Float64Array | Int32Array,
    readonly valid: Uint8Array | null,
  ) {}
  get length(): number {
    return this.values.length;
  }
  get(i: number): number | null {
    return this.valid && this.valid[i] === 0 ? null : this.values[i]!;
  }
  take(index: ArrayLike<number>): NumberColumn {
    const v = this.values instanceof Int32Array ? new Int32Array(index.length) : new Float64Array(index.length);
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
 * Strings kept as their UTF-8 bytes (one buffer, Int32 offsets, as Arrow stores them): for
 * near-unique columns such as transaction ids, where a dictionary would hold one JS string per row
 * plus an index map (several times the bytes of the UTF-8 itself). `get` decodes.
 */
export class Utf8Column implements Column {
  readonly kind = 'string' as const;
  private readonly buf: Buffer;
  constructor(
    /** Length + 1 offsets into `bytes`. */
    readonly offsets: Int32Array,
    readonly bytes: Uint8Array,
    /** `valid[i] === 0` marks a missing value; null when none is missing. */
    readonly valid: Uint8Array | null,
  ) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.offsets.length - 1;
  }
  get(i: number): string | null {
    if (this.valid && this.valid[i] === 0) return null;
    return this.buf.toString('utf8', this.offsets[i]!, this.offsets[i + 1]!);
  }
  take(index: ArrayLike<number>): Utf8Column {
    const offsets = new Int32Array(index.length + 1);
    for (let k = 0; k < index.length; k++) {
      const i = index[k]!;
      offsets[k + 1] = offsets[k]! + (this.offsets[i + 1]! - this.offsets[i]!);
    }
    const bytes = new Uint8Array(offsets[index.length]!);
    const ok = this.valid ? new Uint8Array(index.length) : null;
    for (let k = 0; k < index.length; k++) {
      const i = index[k]!;
      bytes.set(this.bytes.subarray(this.offsets[i]!, this.offsets[i + 1]!), offsets[k]!);
      if (ok) ok[k] = this.valid![i]!;
    }
    return new Utf8Column(offsets, bytes, ok);
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

const utf8Decoder = new TextDecoder('utf-8');

/** Whether `n` bytes at `a` equal those at `b` (in `other`, or in `bytes` itself when not given). */
function sameBytes(bytes: Uint8Array, a: number, b: number, n: number, other?: Uint8Array): boolean {
  const o = other ?? bytes;
  const ob = other ? 0 : b;
  for (let k = 0; k < n; k++) if (bytes[a + k] !== o[ob + k]) return false;
  return true;
}

/** Appends strings, interning each distinct value once. */
class StringBuilder {
  private codes: Int32Array;
  private readonly full: Int32Array[] = [];
  private n = 0;
  constructor(capacity = 0) {
    this.codes = new Int32Array(Math.max(capacity, 1024));
  }
  private readonly dict: string[] = [];
  private readonly index = new Map<string, number>();
  push(v: string | null): void {
    if (this.n === this.codes.length) {
      // Full blocks are kept as they are and joined once in finish: no growing copies.
      this.full.push(this.codes);
      this.codes = new Int32Array(65_536);
      this.n = 0;
    }
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
  /**
   * Every value of an Arrow Utf8 chunk, interned by its UTF-8 bytes: a row whose bytes equal the
   * previous row's, or a known value's (found by a hash of the bytes, then compared), takes its code
   * without decoding a string; only new values are decoded.
   */
  pushUtf8(d: Data): void {
    const vo = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    const nulls = d.nullCount > 0;
    let prevFrom = -1;
    let prevTo = -1;
    let prevCode = -1;
    for (let k = 0; k < d.length; k++) {
      if (nulls && !d.getValid(k)) {
        this.push(null);
        continue;
      }
      const from = vo[d.offset + k]!;
      const to = vo[d.offset + k + 1]!;
      if (prevCode >= 0 && to - from === prevTo - prevFrom && sameBytes(bytes, from, prevFrom, to - from)) {
        this.pushCode(prevCode);
        continue;
      }
      let h = 0x811c9dc5;
      for (let p = from; p < to; p++) h = Math.imul(h ^ bytes[p]!, 0x01000193);
      h = (h ^ (to - from)) >>> 0;
      let code = this.byHash.get(h);
      if (code === undefined || !this.sameAsEntry(code, bytes, from, to)) {
        const value = utf8Decoder.decode(bytes.subarray(from, to));
        code = this.intern(value);
        if (!this.byHash.has(h)) {
          this.byHash.set(h, code);
          this.entryBytes[code] = bytes.slice(from, to);
        }
      }
      this.pushCode(code);
      prevFrom = from;
      prevTo = to;
      prevCode = code;
    }
  }
  /** Codes found by {@link pushUtf8}: a hash of the UTF-8 bytes → the code of the first value with it. */
  private readonly byHash = new Map<number, number>();
  private readonly entryBytes: Uint8Array[] = [];
  private sameAsEntry(code: number, bytes: Uint8Array, from: number, to: number): boolean {
    const e = this.entryBytes[code];
    return e !== undefined && e.length === to - from && sameBytes(bytes, from, -1, to - from, e);
  }
  private intern(v: string): number {
    let c = this.index.get(v);
    if (c === undefined) {
      c = this.dict.length;
      this.dict.push(v);
      this.index.set(v, c);
    }
    return c;
  }
  private pushCode(c: number): void {
    if (this.n === this.codes.length) {
      this.full.push(this.codes);
      this.codes = new Int32Array(65_536);
      this.n = 0;
    }
    this.codes[this.n++] = c;
  }
  finish(): StringColumn {
    const blocks = [...this.full, this.codes.subarray(0, this.n)];
    return new StringColumn(
      join(
        blocks,
        (k) => new Int32Array(k),
        blocks.reduce((k, b) => k + b.length, 0),
      ),
      this.dict,
    );
  }
}

type Builder =
  | {
      kind: 'number';
      int: boolean;
      chunks: { values: Float64Array | Int32Array; valid: Uint8Array | null; len: number }[];
    }
  | { kind: 'boolean'; chunks: { values: Uint8Array; len: number }[] }
  | { kind: 'string'; b: StringBuilder }
  | { kind: 'utf8'; chunks: { offsets: Int32Array; bytes: Uint8Array; valid: Uint8Array | null }[] };

/** Options of {@link FrameBuilder}. */
export interface FrameBuilderOptions {
  /**
   * Text columns stored as raw UTF-8 ({@link Utf8Column}) instead of a dictionary: near-unique
   * ones such as ids, where interning every value costs far more than it saves.
   */
  readonly rawStrings?: readonly string[];
  /**
   * Rows expected in total (e.g. from the Parquet footers): columns are allocated once at this size
   * and filled in place, so reading never holds a second copy. Appending more still works.
   */
  readonly capacity?: number;
}

/** One array of `n` values from typed chunks: the chunk itself when it is the only one and full. */
function join<T extends Float64Array | Uint8Array | Int32Array>(
  chunks: readonly T[],
  make: (n: number) => T,
  n: number,
): T {
  if (chunks.length === 1 && chunks[0]!.length === n && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength)
    return chunks[0]!;
  return concat(chunks, make, n);
}

/** Concatenate typed chunks into one array of `n` values. */
function concat<T extends Float64Array | Uint8Array | Int32Array>(
  chunks: readonly T[],
  make: (n: number) => T,
  n: number,
): T {
  const out = make(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Builds a {@link Frame} from Arrow tables appended one after another (partitions in date order),
 * converting each to typed chunks right away so only one partition is ever held as Arrow data.
 * `finish` joins the chunks one column at a time, so the peak is the frame plus one column
 * (no growing arrays with spare capacity, no second copy of the frame).
 */
export class FrameBuilder {
  private builders: Map<string, Builder> | null = null;
  private n = 0;
  private readonly raw: Set<string>;
  private readonly capacity: number;

  constructor(options: FrameBuilderOptions = {}) {
    this.raw = new Set(options.rawStrings ?? []);
    this.capacity = options.capacity ?? 0;
  }

  /** Room for `rows` more rows in a column: the last chunk when it has space, else a new one. */
  private room<C extends { len: number }>(
    chunks: C[],
    rows: number,
    size: (c: C) => number,
    make: (n: number) => C,
  ): C {
    const last = chunks[chunks.length - 1];
    if (last && size(last) - last.len >= rows) return last;
    const c = make(Math.max(rows, this.capacity - this.n));
    chunks.push(c);
    return c;
  }

  get length(): number {
    return this.n;
  }

  append(table: Table): void {
    if (!this.builders) {
      this.builders = new Map();
      for (const f of table.schema.fields) {
        const t = f.type;
        const text = DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isDictionary(t);
        const b: Builder =
          text && this.raw.has(f.name)
            ? { kind: 'utf8', chunks: [] }
            : text
              ? { kind: 'string', b: new StringBuilder(this.capacity) }
              : DataType.isBool(t)
                ? { kind: 'boolean', chunks: [] }
                : {
                    kind: 'number',
                    int: DataType.isInt(t) && t.bitWidth <= 32 && (t.isSigned || t.bitWidth < 32),
                    chunks: [],
                  };
        this.builders.set(f.name, b);
      }
    }
    const rows = table.numRows;
    for (const [name, b] of this.builders) {
      const vector = table.getChild(name);
      if (!vector) throw new Error(`FrameBuilder: a partition has no column "${name}"`);
      const hasNulls = vector.nullCount > 0;
      if (b.kind === 'string') {
        let row = 0;
        for (const d of vector.data) {
          if (DataType.isUtf8(d.type)) b.b.pushUtf8(d);
          else for (let k = 0; k < d.length; k++) b.b.push(d.getValid(k) ? (vector.get(row + k) as string) : null);
          row += d.length;
        }
      } else if (b.kind === 'utf8') {
        b.chunks.push(utf8Chunk(vector, rows, hasNulls));
      } else if (b.kind === 'boolean') {
        const c = this.room(
          b.chunks,
          rows,
          (x) => x.values.length,
          (k) => ({ values: new Uint8Array(k), len: 0 }),
        );
        // Straight from Arrow's bit-packed values and validity: 1 true, 0 false, 2 missing.
        let at = c.len;
        for (const d of vector.data) {
          const bits = d.values as Uint8Array;
          const valid = d.nullCount > 0 ? d.nullBitmap : null;
          for (let k = 0; k < d.length; k++) {
            const p = d.offset + k;
            c.values[at++] = valid && ((valid[p >> 3]! >> (p & 7)) & 1) === 0 ? 2 : (bits[p >> 3]! >> (p & 7)) & 1;
          }
        }
        c.len += rows;
      } else {
        const raw = vector.toArray() as ArrayLike<unknown>;
        {
          const int = b.int;
          const c = this.room(
            b.chunks,
            rows,
            (x) => x.values.length,
            (k) => ({
              values: int ? new Int32Array(k) : new Float64Array(k),
              valid: null as Uint8Array | null,
              len: 0,
            }),
          );
          if (hasNulls && !c.valid) c.valid = new Uint8Array(c.values.length).fill(1);
          if ((raw instanceof Float64Array || raw instanceof Int32Array) && raw.length === rows) {
            // The same numbers as Number(raw[i]) one by one, copied natively (Int32 into Float64 is exact);
            // then the missing rows from Arrow's validity bits.
            c.values.set(raw, c.len);
            if (hasNulls) {
              let at = c.len;
              for (const d of vector.data) {
                const valid = d.nullBitmap;
                for (let k = 0; k < d.length; k++, at++) {
                  const p = d.offset + k;
                  if (d.nullCount > 0 && ((valid[p >> 3]! >> (p & 7)) & 1) === 0) {
                    c.values[at] = int ? 0 : NaN;
                    c.valid![at] = 0;
                  } else c.valid![at] = 1;
                }
              }
            }
            c.len += rows;
            continue;
          }
          for (let i = 0; i < rows; i++) {
            const ok = !hasNulls || vector.isValid(i);
            c.values[c.len + i] = ok ? Number(raw[i]) : int ? 0 : NaN;
            if (hasNulls) c.valid![c.len + i] = ok ? 1 : 0;
          }
          c.len += rows;
        }
      }
    }
    this.n += rows;
  }

  /** The frame (the builder must not be used afterwards). */
  finish(): Frame {
    const columns: Record<string, Column> = {};
    const n = this.n;
    for (const [name, b] of this.builders ?? []) {
      if (b.kind === 'string') columns[name] = b.b.finish();
      else if (b.kind === 'boolean')
        columns[name] = new BooleanColumn(
          join(
            b.chunks.map((c) => c.values.subarray(0, c.len)),
            (k) => new Uint8Array(k),
            n,
          ),
        );
      else if (b.kind === 'number') {
        const parts = b.chunks.map((c) => c.values.subarray(0, c.len));
        const values = b.int
          ? join(parts as Int32Array[], (k) => new Int32Array(k), n)
          : join(parts as Float64Array[], (k) => new Float64Array(k), n);
        const valid = b.chunks.some((c) => c.valid)
          ? join(
              b.chunks.map((c) => (c.valid ?? new Uint8Array(c.len).fill(1)).subarray(0, c.len)),
              (k) => new Uint8Array(k),
              n,
            )
          : null;
        columns[name] = new NumberColumn(values, valid);
      } else {
        const offsets = new Int32Array(n + 1);
        let total = 0;
        for (const c of b.chunks) total += c.bytes.length;
        if (total > 0x7fffffff) throw new Error(`FrameBuilder: column "${name}" holds more than 2 GiB of text`);
        const bytes = new Uint8Array(total);
        const valid = b.chunks.some((c) => c.valid) ? new Uint8Array(n).fill(1) : null;
        let row = 0;
        let at = 0;
        for (const c of b.chunks) {
          const rows = c.offsets.length - 1;
          for (let k = 1; k <= rows; k++) offsets[row + k] = at + c.offsets[k]!;
          bytes.set(c.bytes, at);
          if (valid && c.valid) valid.set(c.valid, row);
          row += rows;
          at += c.bytes.length;
        }
        columns[name] = new Utf8Column(offsets, bytes, valid);
      }
      // Drop this column's chunks before joining the next one: the peak stays one column above the frame.
      this.builders!.set(name, { kind: 'boolean', chunks: [] });
    }
    this.builders = null;
    return { length: n, columns };
  }
}

/** One partition's text column as UTF-8 bytes and offsets (Arrow's own buffers when it is plain Utf8). */
function utf8Chunk(
  vector: Vector,
  rows: number,
  hasNulls: boolean,
): { offsets: Int32Array; bytes: Uint8Array; valid: Uint8Array | null } {
  const valid = hasNulls ? new Uint8Array(rows) : null;
  const offsets = new Int32Array(rows + 1);
  const parts: Uint8Array[] = [];
  let row = 0;
  let at = 0;
  for (const d of vector.data) {
    if (DataType.isUtf8(d.type)) {
      const vo = d.valueOffsets as Int32Array;
      const start = vo[d.offset]!;
      const end = vo[d.offset + d.length]!;
      parts.push((d.values as Uint8Array).subarray(start, end));
      for (let k = 0; k < d.length; k++) {
        offsets[row + k + 1] = at + (vo[d.offset + k + 1]! - start);
        if (valid) valid[row + k] = d.getValid(k) ? 1 : 0;
      }
      at += end - start;
    } else {
      for (let k = 0; k < d.length; k++) {
        const ok = d.getValid(k);
        const bytes = ok ? Buffer.from(String(vector.get(row + k)), 'utf8') : new Uint8Array(0);
        parts.push(bytes);
        at += bytes.length;
        offsets[row + k + 1] = at;
        if (valid) valid[row + k] = ok ? 1 : 0;
      }
    }
    row += d.length;
  }
  const bytes = new Uint8Array(at);
  let p = 0;
  for (const part of parts) {
    bytes.set(part, p);
    p += part.length;
  }
  return { offsets, bytes, valid };
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

/**
 * Rows picked from several frames with the same columns: row k of the result is row `row[k]` of
 * `sources[source[k]]` (the first `n` entries). Columns keep their kind; dictionary columns get one
 * dictionary of the values picked. A k-way merge of sorted frames assembles its output with it.
 */
export function gatherRows(
  sources: readonly Frame[],
  source: ArrayLike<number>,
  row: ArrayLike<number>,
  n: number,
): Frame {
  const first = sources[0];
  if (!first) return { length: 0, columns: {} };
  const columns: Record<string, Column> = {};
  for (const name of Object.keys(first.columns)) {
    const cols = sources.map((f) => column(f, name));
    const head = cols[0]!;
    if (head instanceof NumberColumn && cols.every((c) => c instanceof NumberColumn)) {
      const nums = cols as NumberColumn[];
      const int = nums.every((c) => c.values instanceof Int32Array);
      const values = int ? new Int32Array(n) : new Float64Array(n);
      const valid = nums.some((c) => c.valid) ? new Uint8Array(n) : null;
      for (let k = 0; k < n; k++) {
        const c = nums[source[k]!]!;
        values[k] = c.values[row[k]!]!;
        if (valid) valid[k] = c.valid ? c.valid[row[k]!]! : 1;
      }
      columns[name] = new NumberColumn(values, valid);
    } else if (head instanceof BooleanColumn && cols.every((c) => c instanceof BooleanColumn)) {
      const bools = cols as BooleanColumn[];
      const values = new Uint8Array(n);
      for (let k = 0; k < n; k++) values[k] = bools[source[k]!]!.values[row[k]!]!;
      columns[name] = new BooleanColumn(values);
    } else if (head instanceof StringColumn && cols.every((c) => c instanceof StringColumn)) {
      const strs = cols as StringColumn[];
      // Each source's codes are mapped to the result's dictionary on first use (-2: not yet).
      const remap = strs.map((c) => new Int32Array(c.dict.length).fill(-2));
      const index = new Map<string, number>();
      const dict: string[] = [];
      const codes = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const s = source[k]!;
        const c = strs[s]!.codes[row[k]!]!;
        if (c < 0) {
          codes[k] = -1;
          continue;
        }
        let out = remap[s]![c]!;
        if (out === -2) {
          const v = strs[s]!.dict[c]!;
          out = index.get(v) ?? -1;
          if (out < 0) {
            out = dict.length;
            dict.push(v);
            index.set(v, out);
          }
          remap[s]![c] = out;
        }
        codes[k] = out;
      }
      columns[name] = new StringColumn(codes, dict);
    } else if (head instanceof Utf8Column && cols.every((c) => c instanceof Utf8Column)) {
      const texts = cols as Utf8Column[];
      const offsets = new Int32Array(n + 1);
      for (let k = 0; k < n; k++) {
        const c = texts[source[k]!]!;
        offsets[k + 1] = offsets[k]! + c.offsets[row[k]! + 1]! - c.offsets[row[k]!]!;
      }
      const bytes = new Uint8Array(offsets[n]!);
      const valid = texts.some((c) => c.valid) ? new Uint8Array(n) : null;
      for (let k = 0; k < n; k++) {
        const c = texts[source[k]!]!;
        const i = row[k]!;
        bytes.set(c.bytes.subarray(c.offsets[i]!, c.offsets[i + 1]!), offsets[k]!);
        if (valid) valid[k] = c.valid ? c.valid[i]! : 1;
      }
      columns[name] = new Utf8Column(offsets, bytes, valid);
    } else {
      const cells: Cell[] = new Array(n);
      for (let k = 0; k < n; k++) cells[k] = cols[source[k]!]!.get(row[k]!);
      columns[name] = columnFromCells(cells);
    }
  }
  return { length: n, columns };
}
