import fs from 'node:fs';
import {
  computeFeatures,
  customerKey,
  emptyCustomerState,
  DEFAULT_FEATURE_PARAMS,
  type CustomerState,
  type FeatureInput,
  type FeatureParams,
  type OnlineStore,
  type OnlineStoreInfo,
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
export function featuresForRequest(
  request: PredictionRequest,
  key: string | null,
  state: CustomerState | undefined,
  params: FeatureParams,
): OnlineFeatureRow {
  const { customer_id: _id, ...fields } = request;
  const input: FeatureInput = { customer_key: key ?? '', ...fields };
  const usable =
    state !== undefined && (state.last_date === null || state.last_date <= request.date) ? state : undefined;
  return {
    customerKey: key,
    features: computeFeatures(input, usable ?? emptyCustomerState(), params),
    known: usable !== undefined,
  };
}

const withDefaults = new WeakMap<FeatureParams, FeatureParams>();

/** Pseudonymous keys remembered at most (a map of strings; cleared when full rather than tracked LRU). */
const KEY_CACHE_MAX = 50_000;

/** What {@link OnlineFeatures} is built from. */
export interface OnlineFeaturesOptions {
  /** The online store (embedded or Redis). */
  readonly store: OnlineStore;
  /**
   * The features stage's snapshot file. With the embedded store it is followed: a new file is
   * materialised into the store (a no-op when another process already did). Redis is materialised
   * by the features stage (`nx run features:materialise`), never by API processes.
   */
  readonly snapshotFile: string;
  readonly secret: string;
  readonly log: (message: string) => void;
}

/**
 * The online side of the feature store for the API: pseudonymises the customer id with the same
 * secret as ingest, reads the customer's state from the online store and computes the features.
 *
 * With the embedded store, reads are synchronous memory-mapped lookups, so the request path stays
 * synchronous. With Redis, {@link prefetch} reads the batch's states in one pipelined round trip
 * and {@link withStates} pins them while the (synchronous) scoring runs. The store's version info
 * is followed on a timer with asynchronous I/O. The pseudonymous key, an HMAC-SHA256, is cached per
 * identity: it cost more than the feature kernel itself.
 */
export class OnlineFeatures {
  readonly store: OnlineStore;
  private readonly file: string;
  private readonly secret: string;
  private readonly log: (message: string) => void;
  private cachedInfo: OnlineStoreInfo | null = null;
  private mtime = -1;
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private pinned: ReadonlyMap<string, CustomerState | undefined> | null = null;
  private readonly keys = new Map<string, string>();

  constructor(options: OnlineFeaturesOptions) {
    this.store = options.store;
    this.file = options.snapshotFile;
    this.secret = options.secret;
    this.log = options.log;
    this.refresh(true);
  }

  private get info(): OnlineStoreInfo | null {
    return this.store.sync ? this.store.sync.info() : this.cachedInfo;
  }

  /** Params the features are computed with: the store's, or the kernel defaults before any features run. */
  get params(): FeatureParams {
    const p = this.info?.params;
    if (p === undefined) return DEFAULT_FEATURE_PARAMS;
    // A store written before a param existed takes that param's default (merged once per store version).
    let merged = withDefaults.get(p);
    if (merged === undefined) withDefaults.set(p, (merged = { ...DEFAULT_FEATURE_PARAMS, ...p }));
    return merged;
  }

  /** Date of the latest transaction of the materialised snapshot, or null without one. */
  get asOf(): string | null {
    return this.info?.as_of || null;
  }

  /** Customers in the materialised snapshot. */
  get customers(): number {
    return this.info?.customers ?? 0;
  }

  /** The embedded store follows the snapshot file: materialise it now if it changed (start-up and tests). */
  refresh(force = false): void {
    const sync = this.store.sync;
    if (!sync) {
      void this.refreshAsync();
      return;
    }
    let mtime: number;
    try {
      mtime = fs.statSync(this.file).mtimeMs;
    } catch {
      if (force && this.info === null)
        this.log(`online store ${this.file} not found: history features are those of a first transaction`);
      return;
    }
    if (mtime === this.mtime && !force) return;
    this.mtime = mtime;
    try {
      const before = sync.info()?.version;
      sync.materialiseFile(this.file);
      if (sync.info()?.version !== before || force) this.announce();
    } catch (error) {
      this.log(`online store: ${(error as Error).message}; keeping the previous one`);
    }
  }

  /** {@link refresh} off the request path: the embedded store's file check, or Redis's version info. */
  async refreshAsync(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      if (this.store.sync) {
        let mtime: number;
        try {
          mtime = (await fs.promises.stat(this.file)).mtimeMs;
        } catch {
          return;
        }
        if (mtime !== this.mtime) this.refresh();
        return;
      }
      const before = this.cachedInfo?.version;
      this.cachedInfo = await this.store.info();
      if (this.cachedInfo?.version !== before) this.announce();
    } catch (error) {
      this.log(`online store: ${(error as Error).message}; keeping the previous one`);
    } finally {
      this.refreshing = false;
    }
  }

  private announce(): void {
    const info = this.info;
    if (info)
      this.log(
        `online store (${this.store.backend}): version ${info.version}, ${info.customers} customers as of ${info.as_of || 'no batch run'}`,
      );
  }

  /** Follow the store every `ms` (unref'd timer); `stop` ends it. */
  watch(ms: number): void {
    this.stop();
    if (ms <= 0) return;
    this.timer = setInterval(() => void this.refreshAsync(), ms);
    this.timer.unref();
  }

  /** Stop following the store. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The pseudonymous customer key of a request (cached per identity). */
  keyFor(
    request: { customer_id?: string } & Pick<PredictionRequest, 'account_cohort' | 'city' | 'state' | 'age' | 'sex'>,
  ): string | null {
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

  /**
   * Read the states of these requests' customers when the store has no synchronous reads (Redis):
   * one pipelined round trip. Null when nothing needs reading first (the embedded store).
   */
  prefetch(requests: readonly PredictionRequest[]): Promise<ReadonlyMap<string, CustomerState | undefined>> | null {
    if (this.store.sync) return null;
    const keys: string[] = [];
    for (const r of requests) {
      const k = this.keyFor(r);
      if (k !== null) keys.push(k);
    }
    if (keys.length === 0) return Promise.resolve(new Map());
    return Promise.all([this.cachedInfo === null ? this.refreshAsync() : undefined, this.store.getStates(keys)]).then(
      ([, states]) => new Map(keys.map((k, i) => [k, states[i]])),
    );
  }

  /** Run `fn` (synchronous scoring) with the states read by {@link prefetch} as the store's view. */
  withStates<T>(states: ReadonlyMap<string, CustomerState | undefined>, fn: () => T): T {
    this.pinned = states;
    try {
      return fn();
    } finally {
      this.pinned = null;
    }
  }

  /** Features of one request. */
  featuresFor(request: PredictionRequest): OnlineFeatureRow {
    const key = this.keyFor(request);
    let state: CustomerState | undefined;
    if (key !== null) state = this.pinned !== null ? this.pinned.get(key) : this.store.sync?.getState(key);
    return featuresForRequest(request, key, state, this.params);
  }
}
