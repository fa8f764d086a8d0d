import { computeFeatures, emptyCustomerState, foldCustomerState, type CustomerState, type FeatureParams } from '@bolsillo/core';
import type { FeatureRow, FeatureValues, Transaction } from '@bolsillo/schema';

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

/** Per-customer states, keyed by customer_key: the accumulator of the offline fold. */
export type CustomerStates = Map<string, CustomerState>;

/** A computed batch: the transactions in history order and their feature values, index for index. */
export interface FeatureBatch {
  readonly txns: readonly Transaction[];
  readonly values: readonly FeatureValues[];
}

/**
 * Feature values of a batch of transactions, in history order. `states` holds each customer's state
 * just before the batch and is advanced in place (it is the fold's accumulator), so consecutive
 * batches (e.g. one date partition after another) can be fed in date order.
 * Input order does not matter within the batch: it is sorted first.
 */
export function computeFeatureBatch(txns: readonly Transaction[], states: CustomerStates, params: FeatureParams): FeatureBatch {
  const sorted = sortTransactions(txns);
  const values: FeatureValues[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i]!;
    let state = states.get(t.customer_key);
    if (!state) {
      state = emptyCustomerState();
      states.set(t.customer_key, state);
    }
    values[i] = computeFeatures(t, state, params);
    foldCustomerState(state, t);
  }
  return { txns: sorted, values };
}

/** {@link computeFeatureBatch} as feature-store rows (keys plus every feature). */
export function computeFeatureRows(txns: readonly Transaction[], states: CustomerStates, params: FeatureParams): FeatureRow[] {
  const batch = computeFeatureBatch(txns, states, params);
  return batch.txns.map((t, i) => ({ txn_id: t.txn_id, customer_key: t.customer_key, date: t.date, ...batch.values[i]! }));
}

/** Advance customer states over a batch without computing features (rebuilding history before a recompute). */
export function foldStates(txns: readonly Transaction[], states: CustomerStates): void {
  for (const t of sortTransactions(txns)) {
    let state = states.get(t.customer_key);
    if (!state) {
      state = emptyCustomerState();
      states.set(t.customer_key, state);
    }
    foldCustomerState(state, t);
  }
}

/** What the offline store recorded about its inputs after a run (`feature-store/manifest.json`). */
export interface FeatureStoreManifest {
  readonly version: 1;
  /** Hash of the params and the feature declarations: a change recomputes everything. */
  readonly config_hash: string;
  /** Lake partition date → hash of its files, as of the run that wrote the store. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Latest date folded into the online store. */
  readonly as_of: string | null;
  readonly updated_at: string;
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
  const removed = previous ? Object.keys(previous.inputs).filter((d) => !(d in inputs)).sort() : [...existingOutputs].filter((d) => !(d in inputs)).sort();
  if (!previous) return { from: dates[0] ?? null, removed, reason: 'no previous run' };
  if (previous.config_hash !== configHash) return { from: dates[0] ?? null, removed, reason: 'params or feature declarations changed' };
  const changed = [
    ...dates.filter((d) => previous.inputs[d] !== inputs[d] || !existingOutputs.has(d)),
    ...removed,
  ].sort();
  if (changed.length === 0) return { from: null, removed, reason: 'inputs unchanged' };
  const earliest = changed[0]!;
  const from = dates.find((d) => d >= earliest) ?? null;
  return { from, removed, reason: `${changed.length} partition(s) changed, earliest ${earliest}` };
}
