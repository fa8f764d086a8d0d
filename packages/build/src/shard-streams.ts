/**
 * The build shards' staged snapshots read as one table in canonical order, without holding it: each
 * shard's `rows.parquet` is already in canonical order (date, then transaction id), so the whole
 * table's order is a k-way merge of the shards, recorded as one byte a row (which shard comes next).
 * The table is then streamed in that order as often as a step needs it, a few columns at a time.
 */
import { parquetBatches } from '@bolsillo/core';
import type { Table } from 'apache-arrow';
import { FrameBuilder, gatherRows, StringColumn, type Column, type Frame } from './frame';
import type { Coded, Codes } from './splits';

/** Rows per Parquet batch a shard is read in, by default. */
const BATCH_ROWS = 65_536;

/** Typed columns of one Arrow batch, transaction ids as raw UTF-8 (as the build reads them). */
function batchFrame(table: Table): Frame {
  const b = new FrameBuilder({ rawStrings: ['txn_id'] });
  b.append(table);
  return b.finish();
}

/** One shard's rows, a batch at a time, with a read position. */
class ShardCursor {
  frame: Frame | null = null;
  row = 0;
  private readonly batches: AsyncGenerator<Table>;
  constructor(file: string, columns: readonly string[] | undefined, batchRows: number) {
    this.batches = parquetBatches(file, { batchSize: batchRows, ...(columns ? { columns } : {}) });
  }
  /** Make the row at the read position available; false at the end of the shard. */
  async load(): Promise<boolean> {
    while (!this.frame || this.row >= this.frame.length) {
      const next = await this.batches.next();
      if (next.done) return false;
      this.frame = batchFrame(next.value);
      this.row = 0;
    }
    return true;
  }
  async close(): Promise<void> {
    await this.batches.return(undefined);
  }
}

/** Interns values into one dictionary: {@link Coded} built part by part. */
class Interner {
  readonly dict: string[] = [];
  private readonly index = new Map<string, number>();
  /** Each column's codes mapped to the dictionary's (-1: not yet), for the columns read so far. */
  private readonly remaps = new WeakMap<Column, Int32Array>();
  /** Code of row `i` of `col`; a missing value is the text "null", as the build codes keys. */
  code(col: Column, i: number): number {
    let remap = this.remaps.get(col);
    if (!remap) {
      remap = new Int32Array(col instanceof StringColumn ? col.dict.length : 0).fill(-1);
      this.remaps.set(col, remap);
    }
    const c = col instanceof StringColumn ? col.codes[i]! : -1;
    if (c >= 0 && remap[c]! >= 0) return remap[c]!;
    const v = String(col.get(i));
    let out = this.index.get(v);
    if (out === undefined) {
      out = this.dict.length;
      this.dict.push(v);
      this.index.set(v, out);
    }
    if (c >= 0) remap[c] = out;
    return out;
  }
}

/** The canonical order of the shards' rows, and the few columns of every row the build needs whole. */
export interface MergedOrder {
  /** Shard of each row of the whole table, in canonical order. */
  readonly shard: Uint8Array;
  /** Target of each row. */
  readonly y: Int8Array;
  readonly customer: Coded;
  readonly date: Coded<Codes>;
}

/**
 * The k-way merge of the shards' staged rows (`files`, each in canonical order, `rows` in all) by
 * date, then transaction id; equal keys keep shard order, as a stable sort of the shards' rows one
 * after another does. Reads only the key, customer and target columns.
 */
export async function mergeOrder(
  files: readonly string[],
  rows: number,
  target: string,
  batchRows = BATCH_ROWS,
): Promise<MergedOrder> {
  if (files.length > 255) throw new Error(`at most 255 build shards can be merged (got ${files.length})`);
  const cursors = files.map((f) => new ShardCursor(f, ['date', 'txn_id', 'customer_key', target], batchRows));
  const shard = new Uint8Array(rows);
  const y = new Int8Array(rows);
  const customerCodes = new Int32Array(rows);
  // Dates are few (one a day): two bytes a row, widened only past 65,536 distinct dates.
  let dateCodes: Uint16Array | Int32Array = new Uint16Array(rows);
  const customers = new Interner();
  const dates = new Interner();
  // Each shard's next key: its date (null first, as canonicalOrder ranks a missing date) and id.
  const dateKey: (string | null)[] = files.map(() => null);
  const txnKey: string[] = files.map(() => '');
  const live: boolean[] = files.map(() => false);
  const readKey = (s: number) => {
    const c = cursors[s]!;
    const d = c.frame!.columns.date!.get(c.row);
    dateKey[s] = d === null ? null : String(d);
    txnKey[s] = String(c.frame!.columns.txn_id!.get(c.row));
  };
  const before = (a: number, b: number) => {
    const da = dateKey[a]!;
    const db = dateKey[b]!;
    if (da !== db) return da === null ? true : db === null ? false : da < db;
    return txnKey[a]! < txnKey[b]! || (txnKey[a] === txnKey[b] && a < b);
  };
  try {
    for (let s = 0; s < cursors.length; s++) if ((live[s] = await cursors[s]!.load())) readKey(s);
    for (let i = 0; i < rows; i++) {
      let s = -1;
      for (let t = 0; t < cursors.length; t++) if (live[t] && (s < 0 || before(t, s))) s = t;
      if (s < 0) throw new Error(`build shards: ${i} staged rows, their stats say ${rows}`);
      const c = cursors[s]!;
      const cols = c.frame!.columns;
      shard[i] = s;
      y[i] = cols[target]!.get(c.row) === true ? 1 : 0;
      customerCodes[i] = customers.code(cols.customer_key!, c.row);
      const d = dates.code(cols.date!, c.row);
      if (d > 0xffff && dateCodes instanceof Uint16Array) dateCodes = Int32Array.from(dateCodes);
      dateCodes[i] = d;
      c.row++;
      if (c.row >= c.frame!.length && !(live[s] = await c.load())) continue;
      readKey(s);
    }
    if (live.some((l) => l)) throw new Error(`build shards: more staged rows than their stats say (${rows})`);
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
  return {
    shard,
    y,
    customer: { codes: customerCodes, dict: customers.dict },
    date: { codes: dateCodes, dict: dates.dict },
  };
}

/**
 * The rows of the whole table in canonical order (`shard`: the {@link MergedOrder}) for which
 * `keep(i)` holds (called once per row, `i` ascending), as frames of `chunkRows` rows (the last
 * one shorter; one empty frame when no row is kept), reading only `columns` of the shards
 * (`batchRows` rows at a time).
 */
export async function* mergedRows(
  files: readonly string[],
  shard: Uint8Array,
  keep: (i: number) => boolean,
  chunkRows: number,
  columns?: readonly string[],
  batchRows = BATCH_ROWS,
): AsyncGenerator<Frame> {
  const cursors = files.map((f) => new ShardCursor(f, columns, batchRows));
  const source = new Uint32Array(chunkRows);
  const row = new Uint32Array(chunkRows);
  // The batches the pending rows come from, and each shard's current batch among them (-1: not yet).
  let sources: Frame[] = [];
  const sourceOf = new Int32Array(files.length).fill(-1);
  let pending = 0;
  let yielded = false;
  try {
    for (let i = 0; i < shard.length; i++) {
      const s = shard[i]!;
      const c = cursors[s]!;
      if (!c.frame || c.row >= c.frame.length) {
        if (!(await c.load())) throw new Error(`build shard ${s}: fewer staged rows than the merged order`);
        sourceOf[s] = -1;
      }
      if (keep(i)) {
        if (sourceOf[s]! < 0) sourceOf[s] = sources.push(c.frame!) - 1;
        source[pending] = sourceOf[s]!;
        row[pending++] = c.row;
        if (pending === chunkRows) {
          yield gatherRows(sources, source, row, pending);
          yielded = true;
          pending = 0;
          sources = [];
          sourceOf.fill(-1);
        }
      }
      c.row++;
    }
    if (pending > 0 || !yielded) {
      // No row at all: an empty frame with the columns' kinds, from any batch read.
      if (pending === 0) sources = cursors.flatMap((c) => (c.frame ? [c.frame] : []));
      yield gatherRows(sources, source, row, pending);
    }
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
}
