/**
 * Typed access to one Arrow batch of the master table, without an object per row: the split of every
 * row from its UTF-8 bytes, the target as 0/1, the values of a column at chosen rows (what a model
 * scores), and a row object for the few rows a learning-curve sample keeps.
 */
import { DataType, Precision, type Table, type Vector } from 'apache-arrow';
import type { ColumnBatch } from '@bolsillo/model';

/** Split codes of {@link splitCodes}. */
export const SPLIT_CODE = { other: 0, train: 1, calibration: 2, test: 3, holdout: 4 } as const;

const SPLIT_BY_NAME = new Map<string, number>([
  ['train', SPLIT_CODE.train],
  ['calibration', SPLIT_CODE.calibration],
  ['test', SPLIT_CODE.test],
  ['holdout', SPLIT_CODE.holdout],
]);

/** The cell at `i` as a row object holds it (`rowsFromTable`): null when invalid, a bigint as a number. */
function cell(v: Vector, i: number): unknown {
  if (!v.isValid(i)) return null;
  const x: unknown = v.get(i);
  return typeof x === 'bigint' ? Number(x) : x;
}

/**
 * {@link cell} of one column, specialised once per batch: numbers straight from the typed values
 * (vector.get dispatches on the type at every call), everything else through `get`.
 */
function getterOf(v: Vector): (i: number) => unknown {
  const valid = validityOf(v);
  const numeric = (DataType.isFloat(v.type) && v.type.precision !== Precision.HALF) || DataType.isInt(v.type);
  if (numeric) {
    const values = v.toArray() as ArrayLike<number | bigint>;
    if (values instanceof BigInt64Array || values instanceof BigUint64Array)
      return (i) => (valid && !valid(i) ? null : Number(values[i]!));
    return (i) => (valid && !valid(i) ? null : values[i]);
  }
  if (DataType.isBool(v.type)) {
    const bit = boolBits(v);
    if (bit) return (i) => (valid && !valid(i) ? null : bit(i));
    const values = v.toArray() as ArrayLike<boolean>;
    return (i) => (valid && !valid(i) ? null : values[i]);
  }
  return (i) => cell(v, i);
}

/** The value of row `i` of a single-chunk boolean vector, read from its bit-packed values; null for other layouts. */
function boolBits(v: Vector): ((i: number) => boolean) | null {
  if (v.data.length !== 1) return null;
  const d = v.data[0]!;
  const bits = d.values as Uint8Array | undefined;
  if (!bits) return null;
  const off = d.offset;
  return (i) => ((bits[(off + i) >> 3]! >> ((off + i) & 7)) & 1) === 1;
}

/** Validity of row `i` from a single-chunk vector's null bitmap; null when every row is valid. */
function validityOf(v: Vector): ((i: number) => boolean) | null {
  if (v.nullCount === 0) return null;
  if (v.data.length !== 1) return (i) => v.isValid(i);
  const d = v.data[0]!;
  const bits = d.nullBitmap;
  const off = d.offset;
  if (!bits || bits.length === 0) return (i) => v.isValid(i);
  return (i) => ((bits[(off + i) >> 3]! >> ((off + i) & 7)) & 1) === 1;
}

/**
 * The split of every row as a code ({@link SPLIT_CODE}; null and unknown names are `other`). UTF-8
 * columns are read from their bytes (the four names are ASCII); other encodings through the values.
 */
export function splitCodes(v: Vector | null): Uint8Array {
  const n = v?.length ?? 0;
  const out = new Uint8Array(n);
  if (!v) return out;
  const valid = validityOf(v);
  if (DataType.isUtf8(v.type) && v.data.length === 1) {
    const d = v.data[0]!;
    const offsets = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    for (let i = 0; i < n; i++) {
      if (valid && !valid(i)) continue;
      // Arrow's value offsets are already those of this slice (its `get` indexes them by row too).
      const a = offsets[i]!;
      const len = offsets[i + 1]! - a;
      out[i] = codeOfBytes(bytes, a, len);
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const s = cell(v, i);
    out[i] = typeof s === 'string' ? (SPLIT_BY_NAME.get(s) ?? SPLIT_CODE.other) : SPLIT_CODE.other;
  }
  return out;
}

const NAME_BYTES = [...SPLIT_BY_NAME].map(([name, code]) => ({ code, bytes: Buffer.from(name, 'utf8') }));

function codeOfBytes(bytes: Uint8Array, at: number, len: number): number {
  for (const { code, bytes: name } of NAME_BYTES) {
    if (name.length !== len) continue;
    let k = 0;
    while (k < len && bytes[at + k] === name[k]) k++;
    if (k === len) return code;
  }
  return SPLIT_CODE.other;
}

/** Each row's value as a 0/1 label: 1 when valid and truthy, as `row[target] ? 1 : 0` reads it. */
export function truthyCodes(v: Vector | null, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (!v) return out;
  const valid = validityOf(v);
  const bit = DataType.isBool(v.type) ? boolBits(v) : null;
  if (bit) {
    for (let i = 0; i < n; i++) out[i] = (!valid || valid(i)) && bit(i) ? 1 : 0;
    return out;
  }
  const values = v.toArray() as ArrayLike<unknown>;
  for (let i = 0; i < n; i++) out[i] = (!valid || valid(i)) && values[i] ? 1 : 0;
  return out;
}

/**
 * One batch's columns, by name. `row(i)` is the row object `rowsFromTable` would give for row i;
 * `gather(name, rows)` the column's values at `rows`, as a model's column batch takes them: numbers
 * (a missing one as NaN, which every scorer reads as missing, like null), booleans or strings.
 */
export class BatchColumns {
  readonly length: number;
  private readonly names: string[];
  private readonly vectors: Vector[];
  private readonly byName: Map<string, Vector>;

  constructor(table: Table) {
    this.length = table.numRows;
    this.names = table.schema.fields.map((f) => f.name);
    this.vectors = this.names.map((n) => table.getChild(n)!);
    this.byName = new Map(this.names.map((n, k) => [n, this.vectors[k]!]));
  }

  vector(name: string): Vector | null {
    return this.byName.get(name) ?? null;
  }

  private readonly getters = new Map<string, (i: number) => unknown>();

  /** The value of column `name` at row `i` as a row object holds it (undefined when the batch has no such column). */
  value(name: string, i: number): unknown {
    const get = this.getter(name);
    return get ? get(i) : undefined;
  }

  private getter(name: string): ((i: number) => unknown) | null {
    let get = this.getters.get(name);
    if (!get) {
      const v = this.byName.get(name);
      if (!v) return null;
      this.getters.set(name, (get = getterOf(v)));
    }
    return get;
  }

  /** Row `i` as `rowsFromTable` gives it, with only `names` (default every column; names the batch lacks are left out). */
  row(i: number, names: readonly string[] = this.names): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (const name of names) {
      const get = this.getter(name);
      if (get) row[name] = get(i);
    }
    return row;
  }

  gather(name: string, rows: Uint32Array): ArrayLike<unknown> | undefined {
    const v = this.byName.get(name);
    if (!v) return undefined;
    const k = rows.length;
    const valid = validityOf(v);
    // Half floats are stored as raw 16-bit words: they go through the values below.
    if ((DataType.isFloat(v.type) && v.type.precision !== Precision.HALF) || DataType.isInt(v.type)) {
      const values = v.toArray() as ArrayLike<number | bigint>;
      const out = new Float64Array(k);
      for (let j = 0; j < k; j++) {
        const i = rows[j]!;
        out[j] = valid && !valid(i) ? NaN : Number(values[i]!);
      }
      return out;
    }
    if (DataType.isBool(v.type)) {
      const get = getterOf(v);
      const out = new Array<unknown>(k);
      for (let j = 0; j < k; j++) out[j] = get(rows[j]!);
      return out;
    }
    const out = new Array<unknown>(k);
    for (let j = 0; j < k; j++) out[j] = cell(v, rows[j]!);
    return out;
  }

  /** A model's column batch over `rows` (each column gathered once, whichever models read it). */
  columnBatch(rows: Uint32Array): ColumnBatch {
    const cache = new Map<string, ArrayLike<unknown> | undefined>();
    return {
      length: rows.length,
      column: (name) => {
        if (!cache.has(name)) cache.set(name, this.gather(name, rows));
        return cache.get(name);
      },
    };
  }
}
