import fs from 'node:fs';
import {
  computeFeatures,
  customerKey,
  emptyCustomerState,
  readOnlineStore,
  parseOnlineStore,
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

/** Pseudonymous keys remembered at most (a map of strings; cleared when full rather than tracked LRU). */
const KEY_CACHE_MAX = 50_000;

/**
 * The online side of the feature store for the API: pseudonymises the customer id with the same
 * secret as ingest, looks the customer up and computes the features.
 *
 * Nothing here touches the file system on the request path: {@link watch} checks the store file's
 * modification time on a timer with an asynchronous `stat`, and only when it changed reads it
 * asynchronously and swaps the parsed store in, so a features run is picked up without a restart;
 * an unreadable new file keeps the previous store. (Parsing a large store is still synchronous
 * JSON.parse, once per features run.) The pseudonymous key, an HMAC-SHA256, is cached per identity:
 * it cost more than the feature kernel itself.
 */
export class OnlineFeatures {
  private store: OnlineStore | null = null;
  private mtime = -1;
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly secret: string,
    private readonly log: (message: string) => void,
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

  /** Re-read the file now if it changed, synchronously (start-up and tests; serving uses {@link watch}). */
  refresh(force = false): void {
    let mtime: number;
    try {
      mtime = fs.statSync(this.file).mtimeMs;
    } catch {
      if (force) this.log(`online store ${this.file} not found: history features are those of a first transaction`);
      return;
    }
    if (mtime === this.mtime && !force) return;
    try {
      this.adopt(readOnlineStore(this.file), mtime);
    } catch (error) {
      this.log(`online store: ${(error as Error).message}; keeping the previous one`);
    }
  }

  /** Re-read the file if its modification time changed, with asynchronous I/O. Resolves when done. */
  async refreshAsync(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      let mtime: number;
      try {
        mtime = (await fs.promises.stat(this.file)).mtimeMs;
      } catch {
        return;
      }
      if (mtime === this.mtime) return;
      try {
        this.adopt(parseOnlineStore(this.file, await fs.promises.readFile(this.file, 'utf8')), mtime);
      } catch (error) {
        // Remember the mtime so a broken file is reported once, not every tick.
        this.mtime = mtime;
        this.log(`online store: ${(error as Error).message}; keeping the previous one`);
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** Follow the store file every `ms` (unref'd timer); `stop` ends it. */
  watch(ms: number): void {
    this.stop();
    if (ms <= 0) return;
    this.timer = setInterval(() => void this.refreshAsync(), ms);
    this.timer.unref();
  }

  /** Stop following the store file. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private adopt(store: OnlineStore | null, mtime: number): void {
    if (!store) return;
    this.store = store;
    this.mtime = mtime;
    this.log(`online store: ${this.customers} customers as of ${this.asOf}`);
  }

  /** The pseudonymous customer key of a request (cached per identity). */
  keyFor(request: PredictionRequest): string | null {
    if (request.customer_id === undefined) return null;
    // Joined like core's customerKey joins them, so two requests share a cache entry only if they share the key.
    const id = `${request.customer_id}\u001f${request.account_cohort}\u001f${request.city}\u001f${request.state}\u001f${request.age}\u001f${request.sex}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = customerKey(this.secret, {
        id: request.customer_id,
        account_cohort: request.account_cohort,
        city: request.city,
        state: request.state,
        age: request.age,
        sex: request.sex,
      });
      if (this.keys.size >= KEY_CACHE_MAX) this.keys.clear();
      this.keys.set(id, key);
    }
    return key;
  }

  /** Features of one request. */
  featuresFor(request: PredictionRequest): OnlineFeatureRow {
    const key = this.keyFor(request);
    const state = key !== null ? this.store?.customers[key] : undefined;
    return featuresForRequest(request, key, state, this.params);
  }
}
