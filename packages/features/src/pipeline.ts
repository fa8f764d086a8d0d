import {
  CustomerHistory,
  DEFAULT_FEATURE_PARAMS,
  FeatureColumns,
  computeBatchInto,
  shardsOfDictionary,
  type FeatureColumnsOptions,
  type FeatureParams,
} from '@bolsillo/core';
import type { FeatureRow, FeatureValues, Transaction } from '@bolsillo/schema';
import { txnColumnsFromRows, utf8At, type TxnColumns } from './txn-columns';

/**
 * The order in which a customer's history accumulates: date, then source file and line (the
 * order of the bank's own export), then txn_id as a last tie-break so the order is total.
 */
export function compareTransactions(a: Transaction, b: Transaction): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  if (a.source_file !== b.source_file) return a.source_file < b.source_file ? -1 : 1;
  if (a.source_line !== b.source_line) return a.source_line - b.source_line;
  return a.txn_id < b.txn_id ? -1 : a.txn_id > b.txn_id ? 1 : 0;
}

/** A sorted copy of transactions in history order ({@link compareTransactions}). */
export function sortTransactions(txns: readonly Transaction[]): Transaction[] {
  return [...txns].sort(compareTransactions);
}

/**
 * Per-customer histories, keyed by customer_key: the accumulator of the offline fold (packed
 * {@link CustomerHistory}; `toState()` gives the online store's JSON form).
 */
export type CustomerStates = Map<string, CustomerHistory>;

/** A computed batch: the transactions in history order and their feature values, index for index. */
export interface FeatureBatch {
  readonly txns: readonly Transaction[];
  readonly values: readonly FeatureValues[];
}

/** A computed columnar batch: `order[k]` is the input row at history position k; `features` row k is its values. */
export interface ColumnarFeatureBatch {
  readonly order: Int32Array;
  readonly features: FeatureColumns;
}

function rank(dict: readonly string[]): Int32Array {
  const sorted = dict.map((_, i) => i).sort((a, b) => (dict[a]! < dict[b]! ? -1 : dict[a]! > dict[b]! ? 1 : 0));
  const r = new Int32Array(dict.length);
  sorted.forEach((id, k) => (r[id] = k));
  return r;
}

/**
 * The history order of a columnar batch ({@link compareTransactions} on columns): a permutation of
 * row indices. Lake partitions usually arrive in order already, which is checked in one pass.
 */
export function historyOrder(cols: TxnColumns): Int32Array {
  const n = cols.length;
  const dateRank = rank(cols.date.dict);
  const fileRank = rank(cols.source_file.dict);
  const d = cols.date.ids;
  const f = cols.source_file.ids;
  const line = cols.source_line;
  const cmp = (a: number, b: number): number => {
    const da = dateRank[d[a]!]! - dateRank[d[b]!]!;
    if (da !== 0) return da;
    const fa = fileRank[f[a]!]! - fileRank[f[b]!]!;
    if (fa !== 0) return fa;
    if (line[a] !== line[b]) return line[a]! - line[b]!;
    const ia = utf8At(cols.txn_id, a);
    const ib = utf8At(cols.txn_id, b);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  };
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // The usual case (a lake partition is written in history order) is checked inline, without a comparator call per row.
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) {
    const da = dateRank[d[i - 1]!]! - dateRank[d[i]!]!;
    if (da < 0) continue;
    if (da > 0) sorted = false;
    else {
      const fa = fileRank[f[i - 1]!]! - fileRank[f[i]!]!;
      if (fa < 0) continue;
      if (fa > 0 || line[i - 1]! > line[i]!) sorted = false;
      else if (line[i - 1] === line[i]) sorted = cmp(i - 1, i) <= 0;
    }
  }
  if (!sorted) order.sort(cmp);
  return order;
}

/** Shard `index` of `count`: a batch's rows of other customers are left out. */
export interface ShardOfBatch {
  readonly index: number;
  readonly count: number;
}

/**
 * The positions of `order` whose row's customer belongs to the shard (core `shardOf`), in order: a shard
 * reading a lake not split the same way computes only its customers' rows. `order` itself when all do.
 */
export function shardOrder(cols: TxnColumns, order: Int32Array, shard: ShardOfBatch): Int32Array {
  const of = shardsOfDictionary(cols.customer_key.dict, shard.count);
  const ids = cols.customer_key.ids;
  let n = 0;
  for (let k = 0; k < order.length; k++) if (of[ids[order[k]!]!] === shard.index) n++;
  if (n === order.length) return order;
  const out = new Int32Array(n);
  let j = 0;
  for (let k = 0; k < order.length; k++) if (of[ids[order[k]!]!] === shard.index) out[j++] = order[k]!;
  return out;
}

/**
 * Histories already resolved for a customer dictionary: a Parquet thread keeps one growing
 * dictionary for its whole life, so only the entries added since the last batch are looked up.
 */
const resolved = new WeakMap<readonly string[], { states: CustomerStates; histories: CustomerHistory[] }>();

/** Each customer of the batch's dictionary → its history in `states` (created empty when new). */
function historiesByCustomer(cols: TxnColumns, states: CustomerStates): CustomerHistory[] {
  const dict = cols.customer_key.dict;
  let cache = resolved.get(dict);
  if (cache === undefined || cache.states !== states || cache.histories.length > dict.length) {
    cache = { states, histories: [] };
    resolved.set(dict, cache);
  }
  const histories = cache.histories;
  for (let c = histories.length; c < dict.length; c++) {
    const key = dict[c]!;
    let history = states.get(key);
    if (!history) {
      history = new CustomerHistory();
      states.set(key, history);
    }
    histories.push(history);
  }
  return histories;
}

/**
 * Feature values of a columnar batch, in history order, written into one {@link FeatureColumns}
 * by the kernel's {@link computeBatchInto}; `states` is advanced in place exactly as
 * {@link computeFeatureBatch} does (which is this function on row objects). `sink` chooses how
 * category features are stored (codes for a batch sent to a Parquet thread). With `shard`, only its
 * customers' rows are computed (`order` holds those).
 */
export function computeColumnarBatch(
  cols: TxnColumns,
  states: CustomerStates,
  params: FeatureParams,
  sink: FeatureColumnsOptions = {},
  shard?: ShardOfBatch,
): ColumnarFeatureBatch {
  const order = shard ? shardOrder(cols, historyOrder(cols), shard) : historyOrder(cols);
  const features = new FeatureColumns(cols.length, sink);
  computeBatchInto(cols, order, cols.customer_key.ids, historiesByCustomer(cols, states), params, features);
  return { order, features };
}

/**
 * Advance customer states over a columnar batch without computing features (replaying history).
 * `params` only pre-resolves the essential flags of the kept window (the kernel re-resolves them
 * if a later batch uses other params).
 */
export function foldColumnarStates(
  cols: TxnColumns,
  states: CustomerStates,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
  shard?: ShardOfBatch,
): void {
  const order = shard ? shardOrder(cols, historyOrder(cols), shard) : historyOrder(cols);
  computeBatchInto(cols, order, cols.customer_key.ids, historiesByCustomer(cols, states), params, null);
}

/**
 * Feature values of a batch of transactions, in history order. `states` holds each customer's state
 * just before the batch and is advanced in place (it is the fold's accumulator), so consecutive
 * batches (e.g. one date partition after another) can be fed in date order.
 * Input order does not matter within the batch: it is sorted first.
 */
export function computeFeatureBatch(
  txns: readonly Transaction[],
  states: CustomerStates,
  params: FeatureParams,
): FeatureBatch {
  const { order, features } = computeColumnarBatch(txnColumnsFromRows(txns), states, params);
  const sorted = Array.from(order, (i) => txns[i]!);
  const values = sorted.map((_, k) => features.row(k));
  return { txns: sorted, values };
}

/** {@link computeFeatureBatch} as feature-store rows (keys plus every feature). */
export function computeFeatureRows(
  txns: readonly Transaction[],
  states: CustomerStates,
  params: FeatureParams,
): FeatureRow[] {
  const batch = computeFeatureBatch(txns, states, params);
  return batch.txns.map((t, i) => ({
    txn_id: t.txn_id,
    customer_key: t.customer_key,
    date: t.date,
    ...batch.values[i]!,
  }));
}

/** Advance customer states over a batch without computing features (rebuilding history before a recompute). */
export function foldStates(
  txns: readonly Transaction[],
  states: CustomerStates,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
): void {
  foldColumnarStates(txnColumnsFromRows(txns), states, params);
}

/** What the offline store recorded about its inputs after a run (`feature-store/manifest.json`). */
export interface FeatureStoreManifest {
  readonly version: 1;
  /** Hash of the params and the feature declarations: a change recomputes everything. */
  readonly config_hash: string;
  /** The kernel params the store was computed with (absent in stores written before they were recorded). */
  readonly params?: FeatureParams;
  /** Lake partition date → hash of its files, as of the run that wrote the store. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Latest date folded into the online store. */
  readonly as_of: string | null;
  readonly updated_at: string;
  /** Shards the store was written by (absent: one process). */
  readonly shards?: number;
  /** A shard's manifest: lake dates on which the shard has no rows (no part file, nothing to recompute). */
  readonly empty_dates?: readonly string[];
}

/** Which partitions a run must write. */
export interface IncrementalPlan {
  /** Recompute every input partition with date ≥ this; null when nothing changed. */
  readonly from: string | null;
  /** Output partitions to delete (their input partition disappeared). */
  readonly removed: readonly string[];
  readonly reason: string;
}

/**
 * Decide what to recompute. History features of a day depend on every earlier day (the running
 * mean over all history, days since the previous transaction, and the 7/30-day windows), so a
 * changed, added or removed input partition invalidates its own date and every later date: the run
 * recomputes from the earliest change onward. A pure append (only new, later dates) therefore
 * recomputes only the new partitions.
 */
export function planIncremental(
  previous: FeatureStoreManifest | null,
  inputs: Readonly<Record<string, string>>,
  configHash: string,
  existingOutputs: ReadonlySet<string>,
): IncrementalPlan {
  const dates = Object.keys(inputs).sort();
  const removed = previous
    ? Object.keys(previous.inputs)
        .filter((d) => !(d in inputs))
        .sort()
    : [...existingOutputs].filter((d) => !(d in inputs)).sort();
  if (!previous) return { from: dates[0] ?? null, removed, reason: 'no previous run' };
  if (previous.config_hash !== configHash)
    return { from: dates[0] ?? null, removed, reason: 'params or feature declarations changed' };
  const changed = [
    ...dates.filter((d) => previous.inputs[d] !== inputs[d] || !existingOutputs.has(d)),
    ...removed,
  ].sort();
  if (changed.length === 0) return { from: null, removed, reason: 'inputs unchanged' };
  const earliest = changed[0]!;
  const from = dates.find((d) => d >= earliest) ?? null;
  return { from, removed, reason: `${changed.length} partition(s) changed, earliest ${earliest}` };
}
