import crypto from 'node:crypto';
import { MasterRowSchema, SPLITS, TARGET, type Split } from '@bolsillo/schema';
import {
  BooleanColumn,
  column,
  columnFromCells,
  NumberColumn,
  StringColumn,
  Utf8Column,
  type Cell,
  type Column,
  type Frame,
} from './frame';

/** Column names of the master table, in schema order (the order the content hash walks). */
export const MASTER_COLUMNS: readonly string[] = Object.keys(MasterRowSchema.properties);

/**
 * Canonical row order of the master table: by date, then transaction id. Input partition order,
 * file layout or reading order can never change it, so the content hash only sees values.
 */
export function canonicalOrder(frame: Frame, keep: (i: number) => boolean): Uint32Array {
  const date = column(frame, 'date');
  const txn = column(frame, 'txn_id');
  // A stable counting sort by date rank (few distinct dates), then each date's rows by txn id:
  // small sorts instead of one comparator sort over every row, and 4 bytes a row.
  const dateRank = rankOf(date);
  let ranks = 0;
  let kept = 0;
  for (let i = 0; i < frame.length; i++) {
    if (!keep(i)) continue;
    kept++;
    ranks = Math.max(ranks, dateRank(i) + 2);
  }
  const start = new Uint32Array(ranks + 1);
  for (let i = 0; i < frame.length; i++) if (keep(i)) start[dateRank(i) + 2] = start[dateRank(i) + 2]! + 1;
  for (let r = 0; r < ranks; r++) start[r + 1] = start[r + 1]! + start[r]!;
  const idx = new Uint32Array(kept);
  const next = start.slice();
  for (let i = 0; i < frame.length; i++) if (keep(i)) idx[next[dateRank(i) + 1]!++] = i;
  for (let r = 0; r < ranks; r++) {
    const from = start[r]!;
    const to = start[r + 1]!;
    if (to - from < 2) continue;
    const run = Array.from(idx.subarray(from, to));
    const key = new Map<number, string>();
    for (const i of run) key.set(i, String(txn.get(i)));
    // Ties (equal ids) keep row order, as the stable sort over all rows did.
    run.sort((a, b) => {
      const ta = key.get(a)!;
      const tb = key.get(b)!;
      return ta < tb ? -1 : ta > tb ? 1 : a - b;
    });
    idx.set(run, from);
  }
  return idx;
}

/**
 * The master table as columns: feature rows (already in canonical order) plus target, group
 * (the customer key), split and CV fold.
 */
export function assembleMaster(
  features: Frame,
  target: Int8Array,
  split: readonly Split[] | Uint8Array,
  fold: Int32Array,
): Frame {
  const columns: Record<string, Column> = { ...features.columns };
  columns[TARGET] = new BooleanColumn(Uint8Array.from(target, (v) => (v === 1 ? 1 : 0)));
  const key = column(features, 'customer_key');
  // The group is the customer key: share its codes and dictionary rather than copy strings.
  columns.group = key instanceof StringColumn ? new StringColumn(key.codes, key.dict) : key;
  // Split names as codes into SPLITS (a byte a row in the build; the same cells either way).
  columns.split =
    split instanceof Uint8Array
      ? new StringColumn(Int32Array.from(split), SPLITS)
      : columnFromCells(split as readonly Cell[]);
  columns.fold = new NumberColumn(fold, null);
  for (const name of MASTER_COLUMNS) if (!columns[name]) throw new Error(`master: column "${name}" missing`);
  return { length: features.length, columns: Object.fromEntries(MASTER_COLUMNS.map((n) => [n, columns[n]!])) };
}

/**
 * SHA-256 over the column names and every row's values in canonical order, as JSON (numbers in
 * their shortest round-trip form). Independent of Parquet encoding, compression and library versions.
 */
export function contentHash(master: Frame): string {
  const h = new ContentHasher();
  h.update(master);
  return h.digest();
}

/**
 * {@link contentHash} over a master table that comes in consecutive chunks of rows: the same hash
 * as over the whole table, whatever the chunk sizes.
 */
export class ContentHasher {
  private readonly h = crypto.createHash('sha256');
  // Same bytes as one update per row of `JSON.stringify(row)`: each cell's JSON text is written as
  // UTF-8 straight into a buffer from its typed column (dictionary entries encoded once, integers
  // as digits, ASCII ids copied as bytes), and the buffer is hashed whenever it fills.
  private readonly out = new JsonBytes(this.h);
  constructor() {
    this.h.update(JSON.stringify(MASTER_COLUMNS));
  }
  /** Hash the next rows. */
  update(chunk: Frame): void {
    const cells = MASTER_COLUMNS.map((n) => cellWriter(column(chunk, n)));
    const out = this.out;
    for (let i = 0; i < chunk.length; i++) {
      out.ascii(NEWLINE_BRACKET);
      for (let c = 0; c < cells.length; c++) {
        if (c > 0) out.byte(COMMA);
        cells[c]!(out, i);
      }
      out.byte(CLOSE);
    }
  }
  /** The hash of every row given (hex). */
  digest(): string {
    this.out.flush();
    return this.h.digest('hex');
  }
}

const COMMA = 0x2c;
const CLOSE = 0x5d;
const NEWLINE_BRACKET = Buffer.from('\n[', 'latin1');
const NULL = Buffer.from('null', 'latin1');
const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');

/** A buffer of JSON text fed to a hash whenever it fills. */
class JsonBytes {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  constructor(private readonly hash: crypto.Hash) {}
  /** Room for `n` more bytes (a cell longer than the buffer is hashed on its own). */
  private room(n: number): boolean {
    if (this.at + n <= this.buf.length) return true;
    this.flush();
    return n <= this.buf.length;
  }
  flush(): void {
    if (this.at > 0) this.hash.update(this.buf.subarray(0, this.at));
    this.at = 0;
  }
  byte(b: number): void {
    if (this.at === this.buf.length) this.flush();
    this.buf[this.at++] = b;
  }
  ascii(bytes: Uint8Array): void {
    if (!this.room(bytes.length)) {
      this.hash.update(bytes);
      return;
    }
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }
  /** Text as UTF-8 (what hashing the string would feed). */
  text(s: string): void {
    if (!this.room(s.length * 3)) {
      this.hash.update(s);
      return;
    }
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  /** An integer in [-2^31, 2^31) as decimal digits (what String writes for it). */
  int(v: number): void {
    this.room(11);
    const buf = this.buf;
    if (v < 0) {
      buf[this.at++] = 0x2d;
      v = -v;
    }
    if (v < 10) {
      buf[this.at++] = 0x30 + v;
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.at + digits;
    this.at = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--p] = 0x30 + (v - q * 10);
      v = q;
    }
    buf[--p] = 0x30 + v;
  }
  /** Raw UTF-8 bytes of a JSON string's content, quoted (the caller checked nothing needs escaping). */
  quoted(bytes: Uint8Array, from: number, to: number): void {
    const n = to - from + 2;
    if (!this.room(n)) {
      this.hash.update('"');
      this.hash.update(bytes.subarray(from, to));
      this.hash.update('"');
      return;
    }
    const buf = this.buf;
    buf[this.at++] = 0x22;
    buf.set(bytes.subarray(from, to), this.at);
    this.at += to - from;
    buf[this.at++] = 0x22;
  }
}

type CellWriter = (out: JsonBytes, i: number) => void;

/** Writes a column's cell as JSON text, exactly as `JSON.stringify` writes it inside an array. */
function cellWriter(col: Column): CellWriter {
  if (col instanceof StringColumn) {
    const { codes, dict } = col;
    // Each dictionary entry's JSON text, as UTF-8, encoded on first use.
    const text: (Buffer | undefined)[] = new Array(dict.length);
    return (out, i) => {
      const c = codes[i]!;
      if (c < 0) out.ascii(NULL);
      else out.ascii((text[c] ??= Buffer.from(JSON.stringify(dict[c]!), 'utf8')));
    };
  }
  if (col instanceof NumberColumn) {
    const { values, valid } = col;
    const ints = values instanceof Int32Array;
    // JSON writes non-finite numbers as null and finite ones exactly as String does.
    return (out, i) => {
      const v = values[i]!;
      if ((valid && valid[i] === 0) || !Number.isFinite(v)) out.ascii(NULL);
      else if (ints || (Number.isInteger(v) && v > -2147483648 && v < 2147483648)) out.int(v === 0 ? 0 : v);
      else out.text(String(v));
    };
  }
  if (col instanceof BooleanColumn) {
    const { values } = col;
    return (out, i) => {
      const v = values[i]!;
      out.ascii(v === 2 ? NULL : v === 1 ? TRUE : FALSE);
    };
  }
  if (col instanceof Utf8Column) {
    const { offsets, bytes, valid } = col;
    return (out, i) => {
      if (valid && valid[i] === 0) {
        out.ascii(NULL);
        return;
      }
      const from = offsets[i]!;
      const to = offsets[i + 1]!;
      // Printable ASCII without quote or backslash is its own JSON text; anything else goes through JSON.stringify.
      let plain = true;
      for (let k = from; k < to; k++) {
        const b = bytes[k]!;
        if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) {
          plain = false;
          break;
        }
      }
      if (plain) out.quoted(bytes, from, to);
      else out.text(JSON.stringify(col.get(i)));
    };
  }
  return (out, i) => {
    const v = col.get(i);
    out.text(v === undefined ? 'null' : JSON.stringify(v));
  };
}

/** Rank of each row's value among the column's distinct values, ascending (string order). */
function rankOf(col: Column): (i: number) => number {
  if (col instanceof StringColumn) {
    const sorted = col.dict.map((v, code) => ({ v, code })).sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0));
    const rank = new Int32Array(col.dict.length);
    sorted.forEach((e, r) => (rank[e.code] = r));
    return (i) => {
      const c = col.codes[i]!;
      return c < 0 ? -1 : rank[c]!;
    };
  }
  const values = Array.from({ length: col.length }, (_, i) => String(col.get(i)));
  const distinct = [...new Set(values)].sort();
  const rank = new Map(distinct.map((v, r) => [v, r]));
  return (i) => rank.get(values[i]!)!;
}
