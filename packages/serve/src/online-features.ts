import fs from 'node:fs';
import {
  computeFeatures,
  customerKey,
  emptyCustomerState,
  readOnlineStore,
  DEFAULT_FEATURE_PARAMS,
  type CustomerState,
  type FeatureInput,
  type FeatureParams,
  type OnlineStore,
} from '@bolsillo/core';
import type { FeatureValues, PredictionRequest } from '@bolsillo/schema';

/** A request turned into model input: the pseudonymous key (null without a customer id) and the features. */
export interface OnlineFeatureRow {
  readonly customerKey: string | null;
  readonly features: FeatureValues;
  /** The customer was found in the online store (history features are real, not first-transaction ones). */
  readonly known: boolean;
}

/**
 * Pure: the features of one request given the customer's online state. The same kernel the offline
 * features stage runs, so serving and training see identical values for identical history.
 *
 * The store holds the state after the customer's latest transaction. For a request dated before
 * that, the state contains later transactions (a negative `days_since_prev`, future amounts in the
 * running mean): not point-in-time correct, so such a request is scored without history.
 */
export function featuresForRequest(request: PredictionRequest, key: string | null, state: CustomerState | undefined, params: FeatureParams): OnlineFeatureRow {
  const { customer_id: _id, ...fields } = request;
  const input: FeatureInput = { customer_key: key ?? '', ...fields };
  const usable = state !== undefined && (state.last_date === null || state.last_date <= request.date) ? state : undefined;
  return { customerKey: key, features: computeFeatures(input, usable ?? emptyCustomerState(), params), known: usable !== undefined };
}

/**
 * The online side of the feature store for the API: pseudonymises the customer id with the same
 * secret as ingest, looks the customer up and computes the features. Re-reads the store file when
 * its modification time changes, so a features run is picked up without a restart; an unreadable
 * new file keeps the previous store.
 */
export class OnlineFeatures {
  private store: OnlineStore | null = null;
  private mtime = -1;
  private checkedAt = 0;

  constructor(
    private readonly file: string,
    private readonly secret: string,
    private readonly log: (message: string) => void,
    /** Minimum ms between stat calls on the request path. */
    private readonly recheckMs = 1000,
  ) {
    this.refresh(true);
  }

  /** Params the features are computed with: the store's, or the kernel defaults before any features run. */
  get params(): FeatureParams {
    return this.store?.params ?? DEFAULT_FEATURE_PARAMS;
  }

  /** Date of the latest transaction folded into the store, or null without a store. */
  get asOf(): string | null {
    return this.store?.as_of ?? null;
  }

  /** Customers in the store. */
  get customers(): number {
    return this.store ? Object.keys(this.store.customers).length : 0;
  }

  /** Re-read the file if it changed (cheap when it did not). */
  refresh(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    let mtime: number;
    try {
      mtime = fs.statSync(this.file).mtimeMs;
    } catch {
      if (force) this.log(`online store ${this.file} not found: history features are those of a first transaction`);
      return;
    }
    if (mtime === this.mtime) return;
    try {
      this.store = readOnlineStore(this.file);
      this.mtime = mtime;
      this.log(`online store: ${this.customers} customers as of ${this.asOf}`);
    } catch (error) {
      this.log(`online store: ${(error as Error).message}; keeping the previous one`);
    }
  }

  /** Features of one request. */
  featuresFor(request: PredictionRequest): OnlineFeatureRow {
    this.refresh();
    let key: string | null = null;
    if (request.customer_id !== undefined) {
      key = customerKey(this.secret, {
        id: request.customer_id,
        account_cohort: request.account_cohort,
        city: request.city,
        state: request.state,
        age: request.age,
        sex: request.sex,
      });
    }
    const state = key !== null ? this.store?.customers[key] : undefined;
    return featuresForRequest(request, key, state, this.params);
  }
}
