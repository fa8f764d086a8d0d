import type { Preprocessing, PreprocessingColumn } from '@bolsillo/schema';

/** Suffix of a numeric feature's missing-value indicator column. */
export const MISSING_SUFFIX = '__missing';
/** Infix of a numeric feature's bin columns (`name#bin2<0.2` one-hot, `name#bin2>=0.2` thermometer). */
export const BIN_INFIX = '#bin';
/** Name of a category feature's out-of-vocabulary column. */
export const OOV_TOKEN = '__oov__';

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function toBool(v: unknown): number {
  if (v === true || v === 1 || v === 'true' || v === '1') return 1;
  return 0;
}

/** Encoded input names of one preprocessing column, in order. */
export function encodedNames(column: PreprocessingColumn): string[] {
  if (column.kind === 'numeric') {
    const edges = column.bin_edges;
    const bins = !edges
      ? []
      : column.bin_encoding === 'thermometer'
        ? edges.map((e, i) => `${column.name}${BIN_INFIX}${i}>=${e}`)
        : [...edges, Infinity].map((e, i) => `${column.name}${BIN_INFIX}${i}<${e}`);
    return [
      ...(column.scaled === false ? [] : [column.name]),
      ...(column.missing_indicator ? [`${column.name}${MISSING_SUFFIX}`] : []),
      ...bins,
    ];
  }
  if (column.kind === 'boolean') return [column.name];
  return [...column.vocabulary.map((v) => `${column.name}=${v}`), `${column.name}=${OOV_TOKEN}`];
}

/**
 * Feature values by column for `length` rows: `column(name)[r]` is what `row[name]` would be for row
 * r (null or NaN when missing), or undefined for a column the batch does not have. Lets a caller
 * that holds typed columns score them without building one object per row.
 */
export interface ColumnBatch {
  readonly length: number;
  column(name: string): ArrayLike<unknown> | undefined;
}

/** A compiled encoder: turns feature rows into a row-major Float32Array of `width` columns per row. */
export interface Encoder {
  readonly width: number;
  readonly names: readonly string[];
  /** Index of the first encoded column and the count of columns, per input feature. */
  readonly spans: readonly { readonly feature: string; readonly start: number; readonly length: number }[];
  encode(rows: readonly Readonly<Record<string, unknown>>[]): Float32Array;
  /** {@link encode} of a column batch: the same numbers as encoding its rows as objects. */
  encodeColumns(batch: ColumnBatch): Float32Array;
}

/** Encode one value of one preprocessing column into `out` from `at` (the row's span of that column). */
function encodeValue(
  col: PreprocessingColumn,
  vocab: Map<string, number> | undefined,
  v: unknown,
  out: Float32Array,
  at: number,
): void {
  if (col.kind === 'numeric') {
    const x = isMissing(v) ? NaN : toNumber(v);
    const missing = !Number.isFinite(x);
    // Missing values take the training mean, i.e. 0 after standardising; the indicator keeps the information.
    let next = at;
    if (col.scaled !== false) out[next++] = missing ? 0 : (x - col.mean) / col.std;
    if (col.missing_indicator) out[next++] = missing ? 1 : 0;
    const edges = col.bin_edges;
    if (edges && !missing) {
      const first = next;
      let b = 0;
      if (col.bin_encoding === 'thermometer') {
        // Cumulative: one column per edge passed, so a threshold is one weight (and L1 keeps few of them).
        while (b < edges.length && x >= edges[b]!) out[first + b++] = 1;
      } else {
        while (b < edges.length && x >= edges[b]!) b++;
        out[first + b] = 1;
      }
    }
  } else if (col.kind === 'boolean') {
    out[at] = toBool(v);
  } else {
    const idx = isMissing(v) ? undefined : vocab!.get(String(v));
    out[at + (idx ?? col.vocabulary.length)] = 1;
  }
}

/**
 * Compile stored preprocessing state into an encoder. The same function runs in training (after
 * fitting) and in serving, so both apply exactly the same transform.
 */
export function createEncoder(prep: Preprocessing): Encoder {
  const spans: { feature: string; start: number; length: number }[] = [];
  const names: string[] = [];
  const vocabs: (Map<string, number> | undefined)[] = [];
  for (const c of prep.columns) {
    const n = encodedNames(c);
    spans.push({ feature: c.name, start: names.length, length: n.length });
    names.push(...n);
    vocabs.push(c.kind === 'category' ? new Map(c.vocabulary.map((v, i) => [v, i])) : undefined);
  }
  const width = names.length;
  if (width !== prep.width)
    throw new Error(`preprocessing: width ${prep.width} does not match its ${width} encoded columns`);
  const columns = prep.columns;
  return {
    width,
    names,
    spans,
    encode(rows) {
      const out = new Float32Array(rows.length * width);
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        const base = r * width;
        for (let c = 0; c < columns.length; c++) {
          const col = columns[c]!;
          encodeValue(col, vocabs[c], row[col.name], out, base + spans[c]!.start);
        }
      }
      return out;
    },
    encodeColumns(batch) {
      const n = batch.length;
      const out = new Float32Array(n * width);
      for (let c = 0; c < columns.length; c++) {
        const col = columns[c]!;
        const values = batch.column(col.name);
        const vocab = vocabs[c];
        const start = spans[c]!.start;
        for (let r = 0; r < n; r++) encodeValue(col, vocab, values ? values[r] : undefined, out, r * width + start);
      }
      return out;
    },
  };
}
