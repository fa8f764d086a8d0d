import crypto from 'node:crypto';
import { MasterRowSchema, TARGET, type Split } from '@bolsillo/schema';
import { column, type Cell, type Frame } from './frame';

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
  return idx.sort((a, b) => {
    const da = String(date[a]);
    const db = String(date[b]);
    if (da !== db) return da < db ? -1 : 1;
    const ta = String(txn[a]);
    const tb = String(txn[b]);
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}

/**
 * The master table as columns: feature rows (already in canonical order) plus target, group
 * (the customer key), split and CV fold.
 */
export function assembleMaster(features: Frame, target: Int8Array, split: readonly Split[], fold: Int32Array): Frame {
  const columns: Record<string, Cell[]> = { ...features.columns };
  columns[TARGET] = Array.from(target, (v) => v === 1);
  columns.group = [...column(features, 'customer_key')];
  columns.split = [...split];
  columns.fold = Array.from(fold);
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
  for (let i = 0; i < master.length; i++) {
    for (let c = 0; c < cols.length; c++) row[c] = cols[c]![i]!;
    h.update('\n');
    h.update(JSON.stringify(row));
  }
  return h.digest('hex');
}
