import crypto from 'node:crypto';
import { MasterRowSchema, TARGET, type Split } from '@bolsillo/schema';
import { BooleanColumn, column, columnFromCells, NumberColumn, StringColumn, type Cell, type Column, type Frame } from './frame';

/** Column names of the master table, in schema order (the order the content hash walks). */
export const MASTER_COLUMNS: readonly string[] = Object.keys(MasterRowSchema.properties);

/**
 * Canonical row order of the master table: by date, then transaction id. Input partition order,
 * file layout or reading order can never change it, so the content hash only sees values.
 */
export function canonicalOrder(frame: Frame, keep: (i: number) => boolean): number[] {
  const date = column(frame, 'date');
  const txn = column(frame, 'txn_id');
  const idx: number[] = [];
  for (let i = 0; i < frame.length; i++) if (keep(i)) idx.push(i);
  // Sort by ranks of the (few) distinct dates first: one integer comparison for most pairs.
  const dateRank = rankOf(date);
  return idx.sort((a, b) => {
    const da = dateRank(a);
    const db = dateRank(b);
    if (da !== db) return da - db;
    const ta = String(txn.get(a));
    const tb = String(txn.get(b));
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}

/**
 * The master table as columns: feature rows (already in canonical order) plus target, group
 * (the customer key), split and CV fold.
 */
export function assembleMaster(features: Frame, target: Int8Array, split: readonly Split[], fold: Int32Array): Frame {
  const columns: Record<string, Column> = { ...features.columns };
  columns[TARGET] = new BooleanColumn(Uint8Array.from(target, (v) => (v === 1 ? 1 : 0)));
  const key = column(features, 'customer_key');
  // The group is the customer key: share its codes and dictionary rather than copy strings.
  columns.group = key instanceof StringColumn ? new StringColumn(key.codes, key.dict) : key;
  columns.split = columnFromCells(split as readonly Cell[]);
  columns.fold = new NumberColumn(Float64Array.from(fold), null);
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
  const cols = MASTER_COLUMNS.map((n) => column(master, n));
  const row: Cell[] = new Array(cols.length);
  // Same bytes as one update per row, fed in blocks of rows (far fewer native calls).
  let block = '';
  for (let i = 0; i < master.length; i++) {
    for (let c = 0; c < cols.length; c++) row[c] = cols[c]!.get(i);
    block += '\n' + JSON.stringify(row);
    if ((i & 1023) === 1023) {
      h.update(block);
      block = '';
    }
  }
  if (block) h.update(block);
  return h.digest('hex');
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
