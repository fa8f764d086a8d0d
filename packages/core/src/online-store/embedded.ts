import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { CustomerState } from '../feature-kernel/kernel';
import type { OnlineStoreSnapshot } from '../feature-kernel/online-store';
import {
  emptySnapshot,
  foldPushed,
  snapshotSource,
  snapshotVersion,
  stateBatches,
  type SnapshotSource,
  type ApplyOutcome,
  type OnlineStore,
  type OnlineStoreHealth,
  type OnlineStoreInfo,
  type PushedTransaction,
} from './online-store';
import { SnapshotFile, type SnapshotSummary } from './snapshot-file';

/** Customers written per LMDB write transaction while materialising. */
const MATERIALISE_BATCH = 20_000;
/** Versions kept: the current one and the one before it (a reader that read the pointer just before a switch still finds its version). */
const KEEP_VERSIONS = 2;

/**
 * The embedded online store: an LMDB environment (one memory-mapped file, no server) shared by
 * every process on the machine (API workers, the stream consumer, the features stage). Reads are
 * synchronous and do not copy the store into the process's heap, so an API process does not grow
 * with the number of customers; writes are LMDB transactions, serialised across processes by its
 * writer lock, so concurrent pushes never lose an update.
 *
 * Layout: the root database holds `current` (the version id) and `meta:<version>` (its
 * {@link OnlineStoreInfo}); each version is a named database `v:<version>` with `c:<customer_key>` →
 * state JSON and `t:<txn_id>` → `1` for each transaction applied since the version was materialised.
 */
export class EmbeddedOnlineStore implements OnlineStore {
  readonly backend = 'embedded' as const;
  private readonly root: RootDatabase<string, string>;
  private readonly versions = new Map<string, Database<string, string>>();
  private infoCache: { version: string; info: OnlineStoreInfo } | null = null;

  /** Open (or create) the store in `dir` (created if missing). */
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.root = open<string, string>({
      path: path.join(dir, 'store.mdb'),
      noSubdir: true,
      maxDbs: 16,
      encoding: 'string',
      cache: false,
    });
  }

  private db(version: string): Database<string, string> {
    let db = this.versions.get(version);
    if (!db) {
      db = this.root.openDB<string, string>({ name: `v:${version}`, encoding: 'string', cache: false });
      this.versions.set(version, db);
    }
    return db;
  }

  /** The current version id, read from the store (another process may have switched it). */
  currentVersion(): string | null {
    return this.root.get('current') ?? null;
  }

  /** {@link info}, synchronously. */
  infoSync(): OnlineStoreInfo | null {
    const version = this.currentVersion();
    if (version === null) return null;
    if (this.infoCache?.version !== version) {
      const text = this.root.get(`meta:${version}`);
      if (text === undefined) return null;
      this.infoCache = { version, info: JSON.parse(text) as OnlineStoreInfo };
    }
    return this.infoCache.info;
  }

  async info(): Promise<OnlineStoreInfo | null> {
    return this.infoSync();
  }

  /** One customer's state in the current version, synchronously (the API's request path). */
  getStateSync(key: string): CustomerState | undefined {
    const version = this.currentVersion();
    if (version === null) return undefined;
    const text = this.db(version).get(`c:${key}`);
    return text === undefined ? undefined : (JSON.parse(text) as CustomerState);
  }

  async getStates(keys: readonly string[]): Promise<(CustomerState | undefined)[]> {
    return keys.map((k) => this.getStateSync(k));
  }

  async isApplied(_customerKey: string, txnId: string): Promise<boolean> {
    const version = this.currentVersion();
    return version !== null && this.db(version).get(`t:${txnId}`) !== undefined;
  }

  async apply(txn: PushedTransaction): Promise<ApplyOutcome> {
    return this.applySync(txn);
  }

  async applyAll(txns: readonly PushedTransaction[]): Promise<ApplyOutcome[]> {
    return this.applyAllSync(txns);
  }

  /** {@link apply} in one synchronous LMDB write transaction (reads inside it see every committed write). */
  applySync(txn: PushedTransaction): ApplyOutcome {
    return this.applyAllSync([txn])[0]!;
  }

  /** Many transactions in order, in one LMDB write transaction (one sync to disk for the batch). */
  applyAllSync(txns: readonly PushedTransaction[]): ApplyOutcome[] {
    if (this.currentVersion() === null) this.materialiseSync(emptySnapshot());
    return this.root.transactionSync(() => {
      const db = this.db(this.currentVersion()!);
      return txns.map((txn): ApplyOutcome => {
        const seen = `t:${txn.txn_id}`;
        if (db.get(seen) !== undefined) return 'duplicate';
        const text = db.get(`c:${txn.customer_key}`);
        const next = foldPushed(text === undefined ? undefined : (JSON.parse(text) as CustomerState), txn);
        if (next !== null) db.putSync(`c:${txn.customer_key}`, JSON.stringify(next));
        db.putSync(seen, '1');
        return next === null ? 'late' : 'applied';
      });
    });
  }

  async materialise(snapshot: OnlineStoreSnapshot): Promise<string> {
    return this.materialiseSync(snapshot);
  }

  /**
   * Write a snapshot under its version id and switch to it (a no-op when it is already current).
   * `version` may be given when the caller already hashed the snapshot's text.
   */
  materialiseSync(snapshot: OnlineStoreSnapshot, version = snapshotVersion(snapshot)): string {
    if (this.currentVersion() === version) return version;
    return this.writeVersion(version, snapshotSource(snapshot));
  }

  /**
   * Write a source's customers under `version`, in write transactions of {@link MATERIALISE_BATCH}, then
   * switch to it. A source that turns out bad part-way (a broken file) throws before the switch: the
   * current version is untouched and the customers written so far are dropped.
   */
  private writeVersion(version: string, source: SnapshotSource): string {
    const kept = (this.root.get('versions') ?? '').split(',').filter((v) => v !== '');
    // A kept older version may carry pushes: start it again from the snapshot.
    if (kept.includes(version)) this.db(version).clearSync();
    const db = this.db(version);
    // Put-if-absent: a version id is a content hash, so what is there (from a materialisation killed
    // half-way, or another process materialising the same file at the same time) is the same value,
    // or a push applied after that process switched to it, which must not be overwritten.
    let summary: SnapshotSummary;
    try {
      for (const batch of stateBatches(source, MATERIALISE_BATCH))
        this.root.transactionSync(() => {
          for (const [key, text] of batch) if (db.get(`c:${key}`) === undefined) db.putSync(`c:${key}`, text);
        });
      summary = source.summary();
    } catch (error) {
      if (!kept.includes(version) && this.currentVersion() !== version) {
        db.dropSync();
        this.versions.delete(version);
      }
      throw error;
    }
    const info: OnlineStoreInfo = { version, ...summary };
    const order = kept.filter((v) => v !== version);
    order.push(version);
    const drop = order.slice(0, Math.max(0, order.length - KEEP_VERSIONS));
    this.root.transactionSync(() => {
      this.root.putSync(`meta:${version}`, JSON.stringify(info));
      this.root.putSync('versions', order.slice(-KEEP_VERSIONS).join(','));
      this.root.putSync('current', version);
    });
    for (const old of drop) {
      this.db(old).dropSync();
      this.versions.delete(old);
      this.root.removeSync(`meta:${old}`);
    }
    return version;
  }

  async materialiseFile(file: string): Promise<string | null> {
    return this.materialiseFileSync(file);
  }

  /**
   * {@link materialiseFile}, synchronously: the file is hashed in one pass (its version id) and, unless
   * that version is current, read again customer by customer, so memory stays bounded by one batch.
   */
  materialiseFileSync(file: string): string | null {
    const snapshot = SnapshotFile.open(file);
    if (snapshot === null) return null;
    try {
      const version = snapshot.version();
      if (this.currentVersion() === version) return version;
      return this.writeVersion(version, snapshot);
    } finally {
      snapshot.close();
    }
  }

  readonly sync = {
    info: () => this.infoSync(),
    getState: (key: string) => this.getStateSync(key),
    materialiseFile: (file: string) => this.materialiseFileSync(file),
  };

  async customerKeys(): Promise<string[]> {
    const version = this.currentVersion();
    if (version === null) return [];
    const keys: string[] = [];
    for (const k of this.db(version).getKeys({ start: 'c:', end: 'c;' })) keys.push(String(k).slice(2));
    return keys;
  }

  async health(): Promise<OnlineStoreHealth> {
    try {
      const version = this.currentVersion();
      return { ok: true, backend: 'embedded', version, detail: `LMDB at ${this.dir}` };
    } catch (error) {
      return { ok: false, backend: 'embedded', version: null, detail: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
