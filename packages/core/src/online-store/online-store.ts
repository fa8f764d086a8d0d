import { createHash } from 'node:crypto';
import {
  DEFAULT_FEATURE_PARAMS,
  cloneCustomerState,
  emptyCustomerState,
  foldCustomerState,
  type CustomerState,
  type FeatureInput,
  type FeatureParams,
} from '../feature-kernel/kernel';
import type { OnlineStoreSnapshot } from '../feature-kernel/online-store';
import type { SnapshotEntry, SnapshotSummary } from './snapshot-file';

/** A transaction pushed to the online store: the kernel's input plus the id that makes the push idempotent. */
export type PushedTransaction = FeatureInput & { readonly txn_id: string };

/**
 * What {@link OnlineStore.apply} did with a transaction:
 * - `applied`: folded into the customer's state;
 * - `duplicate`: this transaction id was already applied to this version (nothing changed);
 * - `late`: dated before the customer's latest folded transaction, so folding it now would break the
 *   kernel's time order; recorded as seen, not folded (the next batch run places it correctly).
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'late';

/** The version the store serves: what was materialised, and when. */
export interface OnlineStoreInfo {
  /** Version id (content hash of the materialised snapshot). */
  readonly version: string;
  /** Latest transaction date of the materialised snapshot (pushes may be later); '' when none. */
  readonly as_of: string;
  /** Feature params the snapshot was computed with (serving computes features with them). */
  readonly params: FeatureParams;
  /** Customers in the materialised snapshot (pushes may add more). */
  readonly customers: number;
}

/** Health of a backend: reachable, and which version it serves. */
export interface OnlineStoreHealth {
  readonly ok: boolean;
  readonly backend: OnlineStoreBackend;
  readonly version: string | null;
  readonly detail: string;
}

export type OnlineStoreBackend = 'embedded' | 'redis';

/**
 * The online feature store: every customer's kernel state after their latest transaction, shared by
 * serving, HTTP pushes and the stream consumer. States are opaque JSON values, changed only through
 * the feature kernel ({@link foldCustomerState}), so the online path folds exactly as the offline one.
 *
 * Versions: {@link materialise} writes a whole snapshot under a new version and then switches the
 * current-version pointer in one step, so a reader sees either the old version or the new one, never
 * a half-written one. Pushes apply to the current version; a later materialisation replaces them with
 * the batch path's states (which include them once the landing folder has been ingested).
 */
export interface OnlineStore {
  readonly backend: OnlineStoreBackend;
  /** The current version, or null before the first materialisation or push. */
  info(): Promise<OnlineStoreInfo | null>;
  /** The states of these customers in the current version (undefined for an unknown customer), in order. */
  getStates(keys: readonly string[]): Promise<(CustomerState | undefined)[]>;
  /** Whether this transaction id was already applied to this customer in the current version. */
  isApplied(customerKey: string, txnId: string): Promise<boolean>;
  /**
   * Fold one transaction into its customer's state atomically (no lost update when several
   * processes push the same customer), at most once per transaction id.
   */
  apply(txn: PushedTransaction): Promise<ApplyOutcome>;
  /**
   * {@link apply} for many transactions, each customer's in the given order (customers may be
   * applied in parallel); the outcomes in input order. One write transaction on the embedded store.
   */
  applyAll(txns: readonly PushedTransaction[]): Promise<ApplyOutcome[]>;
  /** Write a whole snapshot as a new version and switch to it; returns the version id. */
  materialise(snapshot: OnlineStoreSnapshot): Promise<string>;
  /**
   * Materialise the snapshot file the features stage writes, unless its content is already the
   * current version. Returns the version id, or null when the file does not exist.
   */
  materialiseFile(file: string): Promise<string | null>;
  /** Every customer key of the current version (parity checks and tests; scans the whole version). */
  customerKeys(): Promise<string[]>;
  health(): Promise<OnlineStoreHealth>;
  close(): Promise<void>;
  /** Synchronous reads, when the backend has them (the embedded store): the API's request path then stays synchronous. */
  readonly sync?: {
    info(): OnlineStoreInfo | null;
    getState(key: string): CustomerState | undefined;
    materialiseFile(file: string): string | null;
  };
}

/** The environment variable naming the backend: unset for the embedded store, `redis://…` for Redis. */
export const ONLINE_STORE_ENV = 'BOLSILLO_ONLINE_STORE';

/** Version id of a snapshot: a hash of its content (the same snapshot always gets the same id). */
export function snapshotVersion(snapshot: OnlineStoreSnapshot | string): string {
  const text = typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * What a materialisation reads: the customers one by one, then the params, as_of and count (valid once
 * every customer is read). A snapshot file streamed (`SnapshotFile`) or one in memory.
 */
export interface SnapshotSource {
  customers(): Iterable<SnapshotEntry>;
  summary(): SnapshotSummary;
}

/** An in-memory snapshot as a {@link SnapshotSource}. */
export function snapshotSource(snapshot: OnlineStoreSnapshot): SnapshotSource {
  return {
    customers: function* () {
      for (const [key, state] of Object.entries(snapshot.customers)) yield { key, state };
    },
    summary: () => ({
      params: snapshot.params,
      as_of: snapshot.as_of,
      customers: Object.keys(snapshot.customers).length,
    }),
  };
}

/** A source's customers as `[key, state JSON]` batches of `size` (the last may be shorter, never empty). */
export function* stateBatches(source: SnapshotSource, size: number): Generator<[string, string][]> {
  let batch: [string, string][] = [];
  for (const { key, state } of source.customers()) {
    batch.push([key, JSON.stringify(state)]);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The snapshot a store starts from when a push arrives before any materialisation. */
export function emptySnapshot(params: FeatureParams = DEFAULT_FEATURE_PARAMS): OnlineStoreSnapshot {
  return { params, as_of: '', customers: {} };
}

/**
 * Date of the latest transaction folded into a state, or null for an empty one. The one place outside
 * the kernel that looks inside a state: ordering pushes needs it.
 */
export function stateLastDate(state: CustomerState): string | null {
  return (state as { last_date?: string | null }).last_date ?? null;
}

/**
 * Pure: the state after a pushed transaction, or null when the transaction is dated before the
 * state's latest one (see {@link ApplyOutcome} `late`). The input state is not modified.
 */
export function foldPushed(state: CustomerState | undefined, txn: PushedTransaction): CustomerState | null {
  const base = state === undefined ? emptyCustomerState() : cloneCustomerState(state);
  const last = state === undefined ? null : stateLastDate(state);
  if (last !== null && txn.date < last) return null;
  const { txn_id: _id, ...input } = txn;
  return foldCustomerState(base, input);
}

/** {@link OnlineStore.applyAll} over a store's `apply`: customers in parallel, each customer's transactions in order. */
export async function applyByCustomer(
  txns: readonly PushedTransaction[],
  apply: (txn: PushedTransaction) => Promise<ApplyOutcome>,
): Promise<ApplyOutcome[]> {
  const status = new Array<ApplyOutcome>(txns.length);
  const byCustomer = new Map<string, number[]>();
  txns.forEach((t, i) => {
    const list = byCustomer.get(t.customer_key);
    if (list) list.push(i);
    else byCustomer.set(t.customer_key, [i]);
  });
  await Promise.all(
    [...byCustomer.values()].map(async (indices) => {
      for (const i of indices) status[i] = await apply(txns[i]!);
    }),
  );
  return status;
}
