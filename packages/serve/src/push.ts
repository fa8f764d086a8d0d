import type { ApplyOutcome, OnlineStore, PushedTransaction } from '@bolsillo/core';
import type { TransactionPush } from '@bolsillo/schema';
import type { LandingWriter } from './landing';
import { semanticErrors, InvalidRequestError } from './service';

/** One pushed transaction's outcome. */
export interface PushResult {
  readonly txn_id: string;
  readonly status: ApplyOutcome;
}

/** What {@link PushService} needs. */
export interface PushServiceDeps {
  readonly store: OnlineStore;
  readonly landing: LandingWriter;
  /** The pseudonymous key of a customer (the API's cached HMAC). */
  readonly keyFor: (push: TransactionPush) => string;
}

/**
 * Transactions in, online state updated: the same path for `POST /transactions` and the stream
 * consumer. For a batch (in order): pseudonymise; leave out what the store already applied; land
 * the rest durably; then fold each into its customer's state, customers in parallel and each
 * customer's transactions in order. A crash between landing and folding leaves the transaction
 * landed but not applied: its redelivery (or the client's retry) applies it without landing it again
 * (same writer) and the next ingest de-duplicates by transaction id (any writer).
 */
export class PushService {
  constructor(private readonly deps: PushServiceDeps) {}

  /** Validated pushes in order; throws {@link InvalidRequestError} (400) for impossible dates or cohorts. */
  async push(pushes: readonly TransactionPush[], batch = pushes.length > 1): Promise<PushResult[]> {
    const invalid = semanticErrors(pushes, batch);
    if (invalid.length > 0) throw new InvalidRequestError(400, invalid);
    const { store, landing } = this.deps;
    const txns: PushedTransaction[] = pushes.map((p) => {
      const { customer_id: _id, ...fields } = p;
      return { ...fields, customer_key: this.deps.keyFor(p) };
    });
    const known = await Promise.all(
      txns.map((t) => (landing.has(t.txn_id) ? false : store.isApplied(t.customer_key, t.txn_id))),
    );
    await landing.append(txns.filter((_, i) => !known[i]));
    const status = new Array<ApplyOutcome>(txns.length).fill('duplicate');
    const todo = txns.flatMap((_, i) => (known[i] ? [] : [i]));
    const applied = await store.applyAll(todo.map((i) => txns[i]!));
    todo.forEach((i, k) => (status[i] = applied[k]!));
    return txns.map((t, i) => ({ txn_id: t.txn_id, status: status[i]! }));
  }
}
