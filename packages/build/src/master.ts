import crypto from 'node:crypto';
import { MasterRowSchema, SPLITS, TARGET, type Split } from '@bolsillo/schema';
import {
  BooleanColumn,
  column,
  columnFromCells,
  NumberColumn,
  StringColumn,
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
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(MASTER_COLUMNS));
  const cells = MASTER_COLUMNS.map((n) => cellJson(column(master, n)));
  const last = cells.length - 1;
  // Same bytes as one update per row of `JSON.stringify(row)`, fed in blocks of rows (far fewer
  // native calls); each cell's JSON text comes from its typed column (dictionary entries once).
  let block = '';
  for (let i = 0; i < master.length; i++) {
    let row = '\n[';
    for (let c = 0; c < last; c++) row += cells[c]!(i) + ',';
    block += row + (last >= 0 ? cells[last]!(i) : '') + ']';
    if ((i & 1023) === 1023) {
      h.update(block);
      block = '';
    }
  }
  if (block) h.update(block);
  return h.digest('hex');
}

/** Dictionaries up to this size have each entry's JSON text computed once. */
const CACHED_JSON_MAX = 1 << 16;

/** JSON text of a column's cell, exactly as `JSON.stringify` writes it inside an array. */
function cellJson(col: Column): (i: number) => string {
  if (col instanceof StringColumn) {
    const { codes, dict } = col;
    if (dict.length <= CACHED_JSON_MAX) {
      const text = dict.map((v) => JSON.stringify(v));
      return (i) => {
        const c = codes[i]!;
        return c < 0 ? 'null' : text[c]!;
      };
    }
    return (i) => {
      const c = codes[i]!;
      return c < 0 ? 'null' : JSON.stringify(dict[c]!);
    };
  }
  if (col instanceof NumberColumn) {
    const { values, valid } = col;
    // JSON writes non-finite numbers as null and finite ones exactly as String does.
    return (i) => {
      const v = values[i]!;
      return (valid && valid[i] === 0) || !Number.isFinite(v) ? 'null' : String(v);
    };
  }
  if (col instanceof BooleanColumn) {
    const { values } = col;
    return (i) => {
      const v = values[i]!;
      return v === 2 ? 'null' : v === 1 ? 'true' : 'false';
    };
  }
  return (i) => {
    const v = col.get(i);
    return v === undefined ? 'null' : JSON.stringify(v);
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
