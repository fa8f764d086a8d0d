import { createClient } from 'redis';
import type { CustomerState } from '../feature-kernel/kernel';
import type { OnlineStoreSnapshot } from '../feature-kernel/online-store';
import {
  applyByCustomer,
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

type Client = ReturnType<typeof createClient>;

/** Customers per pipelined batch while materialising. */
const MATERIALISE_BATCH = 5_000;
/** Versions kept: the current one and the one before it. */
const KEEP_VERSIONS = 2;
/** Compare-and-set attempts before a push gives up (each failure means another writer won the race). */
const MAX_ATTEMPTS = 1_000;

/**
 * Compare-and-set of one customer's state. KEYS: current-version pointer, customer hash. ARGV:
 * version read, counter read, txn field, new state ('' = late: only mark the transaction seen).
 * Returns 1 applied, 2 late, 0 duplicate, -1 the customer changed since the read, -2 the version switched.
 */
const APPLY_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -2 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 0 end
local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')
if n ~= tonumber(ARGV[2]) then return -1 end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[2], 'n', n + 1, ARGV[3], '1')
  return 2
end
redis.call('HSET', KEYS[2], 's', ARGV[4], 'n', n + 1, ARGV[3], '1')
return 1
`;

/** Options of {@link RedisOnlineStore.connect}. */
export interface RedisOnlineStoreOptions {
  /** `redis://host:port[/db]`. */
  readonly url: string;
  /** Key namespace (default `bolsillo:online`). */
  readonly namespace?: string;
  /** How long the current-version pointer is cached (ms, default 1000); a push that sees a switch re-reads it at once. */
  readonly versionTtlMs?: number;
}

/**
 * The online store on Redis (node-redis), shared by any number of API processes and consumers.
 *
 * Key layout under the namespace `ns` (default `bolsillo:online`):
 * - `ns:current` → the current version id;
 * - `ns:versions` → the kept version ids, oldest first, comma-separated;
 * - `ns:v:<version>:meta` → the version's {@link OnlineStoreInfo} as JSON;
 * - `ns:v:<version>:c:<customer_key>` → a hash: `s` the state JSON, `n` a counter of pushes (the
 *   compare-and-set token), `t:<txn_id>` = 1 for each transaction pushed since materialisation.
 *
 * A push reads the state and counter, folds with the kernel in the process, and writes with a Lua
 * compare-and-set that also checks the transaction id and the version pointer; a lost race retries.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly backend = 'redis' as const;
  private version: { id: string | null; at: number } = { id: null, at: -Infinity };
  private applySha: string | null = null;
  private infoCache: { version: string; info: OnlineStoreInfo } | null = null;

  private constructor(
    private readonly client: Client,
    private readonly ns: string,
    private readonly versionTtlMs: number,
  ) {}

  /** Connect (bounded: fails after ~5 s when Redis does not answer). */
  static async connect(options: RedisOnlineStoreOptions): Promise<RedisOnlineStore> {
    const client = createClient({
      url: options.url,
      socket: {
        connectTimeout: 5_000,
        reconnectStrategy: (retries: number) =>
          retries > 20 ? new Error('redis: gave up reconnecting') : Math.min(50 * 2 ** retries, 2_000),
      },
    });
    client.on('error', () => undefined); // surfaced by the failing command; a reconnect is attempted
    await client.connect();
    return new RedisOnlineStore(client, options.namespace ?? 'bolsillo:online', options.versionTtlMs ?? 1_000);
  }

  private key(version: string, customerKey: string): string {
    return `${this.ns}:v:${version}:c:${customerKey}`;
  }

  /** The current version id (cached for `versionTtlMs`). */
  async currentVersion(fresh = false): Promise<string | null> {
    const now = performance.now();
    if (fresh || now - this.version.at > this.versionTtlMs) {
      this.version = { id: (await this.client.get(`${this.ns}:current`)) ?? null, at: now };
    }
    return this.version.id;
  }

  async info(): Promise<OnlineStoreInfo | null> {
    const version = await this.currentVersion();
    if (version === null) return null;
    if (this.infoCache?.version !== version) {
      const text = await this.client.get(`${this.ns}:v:${version}:meta`);
      if (text === null) return null;
      this.infoCache = { version, info: JSON.parse(text) as OnlineStoreInfo };
    }
    return this.infoCache.info;
  }

  async getStates(keys: readonly string[]): Promise<(CustomerState | undefined)[]> {
    const version = await this.currentVersion();
    if (version === null) return keys.map(() => undefined);
    // Issued in one tick: node-redis sends them as one pipeline.
    const texts = await Promise.all(keys.map((k) => this.client.hGet(this.key(version, k), 's')));
    return texts.map((t) => (t === null || t === undefined ? undefined : (JSON.parse(t) as CustomerState)));
  }

  async isApplied(customerKey: string, txnId: string): Promise<boolean> {
    const version = await this.currentVersion();
    return version !== null && (await this.client.hExists(this.key(version, customerKey), `t:${txnId}`)) === 1;
  }

  private async evalApply(keys: string[], args: string[]): Promise<number> {
    if (this.applySha === null) this.applySha = await this.client.scriptLoad(APPLY_SCRIPT);
    try {
      return (await this.client.evalSha(this.applySha, { keys, arguments: args })) as number;
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error).message)) throw error;
      this.applySha = null; // the server was restarted or flushed its scripts
      return (await this.client.eval(APPLY_SCRIPT, { keys, arguments: args })) as number;
    }
  }

  async apply(txn: PushedTransaction): Promise<ApplyOutcome> {
    let version = await this.currentVersion();
    if (version === null) {
      await this.materialise(emptySnapshot(), { onlyIfNone: true });
      version = await this.currentVersion(true);
    }
    const field = `t:${txn.txn_id}`;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const key = this.key(version!, txn.customer_key);
      const [text, n, seen] = await this.client.hmGet(key, ['s', 'n', field]);
      if (seen !== null && seen !== undefined) return 'duplicate';
      const next = foldPushed(
        text === null || text === undefined ? undefined : (JSON.parse(text) as CustomerState),
        txn,
      );
      const r = await this.evalApply(
        [`${this.ns}:current`, key],
        [version!, n ?? '0', field, next === null ? '' : JSON.stringify(next)],
      );
      if (r === 1) return 'applied';
      if (r === 2) return 'late';
      if (r === 0) return 'duplicate';
      if (r === -2) version = await this.currentVersion(true);
    }
    throw new Error(`redis: gave up applying ${txn.txn_id} after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  applyAll(txns: readonly PushedTransaction[]): Promise<ApplyOutcome[]> {
    return applyByCustomer(txns, (t) => this.apply(t));
  }

  async materialise(snapshot: OnlineStoreSnapshot, options: { onlyIfNone?: boolean } = {}): Promise<string> {
    const version = snapshotVersion(snapshot);
    const current = await this.currentVersion(true);
    if (current === version || (options.onlyIfNone && current !== null)) return current!;
    if (options.onlyIfNone) return this.claimFirstVersion(snapshot, version);
    return this.writeVersion(version, snapshotSource(snapshot));
  }

  /**
   * Write a source's customers under `version`, in pipelined batches of {@link MATERIALISE_BATCH}, then
   * switch to it. A source that turns out bad part-way (a broken file) throws before the switch: the
   * current version is untouched and the customers written so far are dropped.
   */
  private async writeVersion(version: string, source: SnapshotSource): Promise<string> {
    const kept = ((await this.client.get(`${this.ns}:versions`)) ?? '').split(',').filter((v) => v !== '');
    // A kept older version may carry pushes: start it again from the snapshot.
    if (kept.includes(version)) await this.dropVersion(version);
    // HSETNX: a version id is a content hash, so a state already there (a materialisation killed
    // half-way, or another process materialising the same snapshot) is the same value, or a push
    // applied after that process switched to it, which must not be overwritten.
    let summary: SnapshotSummary;
    try {
      for (const batch of stateBatches(source, MATERIALISE_BATCH)) {
        const multi = this.client.multi();
        for (const [key, text] of batch) multi.hSetNX(this.key(version, key), 's', text);
        await multi.execAsPipeline();
      }
      summary = source.summary();
    } catch (error) {
      if (!kept.includes(version) && (await this.currentVersion(true)) !== version)
        await this.dropVersion(version).catch(() => undefined);
      throw error;
    }
    const info: OnlineStoreInfo = { version, ...summary };
    const order = kept.filter((v) => v !== version);
    order.push(version);
    // The switch: meta, kept list and pointer in one MULTI, so readers see the old version or the whole new one.
    await this.client
      .multi()
      .set(`${this.ns}:v:${version}:meta`, JSON.stringify(info))
      .set(`${this.ns}:versions`, order.slice(-KEEP_VERSIONS).join(','))
      .set(`${this.ns}:current`, version)
      .exec();
    this.version = { id: version, at: performance.now() };
    for (const old of order.slice(0, Math.max(0, order.length - KEEP_VERSIONS))) await this.dropVersion(old);
    return version;
  }

  /**
   * The first version of an empty store (a push before any materialisation), claimed with SET NX: of
   * processes racing here one sets the pointer and the others use it. Nothing is dropped or rewritten,
   * so pushes the winner applied in the meantime stay (a drop-and-rewrite here applied them twice).
   */
  private async claimFirstVersion(snapshot: OnlineStoreSnapshot, version: string): Promise<string> {
    const keys = Object.keys(snapshot.customers);
    const batch = this.client.multi();
    for (const k of keys) batch.hSetNX(this.key(version, k), 's', JSON.stringify(snapshot.customers[k]));
    const info: OnlineStoreInfo = { version, as_of: snapshot.as_of, params: snapshot.params, customers: keys.length };
    batch.set(`${this.ns}:v:${version}:meta`, JSON.stringify(info));
    await batch.execAsPipeline();
    if ((await this.client.set(`${this.ns}:current`, version, { NX: true })) === 'OK')
      await this.client.set(`${this.ns}:versions`, version);
    return (await this.currentVersion(true))!;
  }

  /**
   * The file is hashed in one pass (its version id) and, unless that version is current, read again
   * customer by customer, so memory stays bounded by one batch.
   */
  async materialiseFile(file: string): Promise<string | null> {
    const snapshot = SnapshotFile.open(file);
    if (snapshot === null) return null;
    try {
      const version = snapshot.version();
      if ((await this.currentVersion(true)) === version) return version;
      return await this.writeVersion(version, snapshot);
    } finally {
      snapshot.close();
    }
  }

  /** Delete every key of a version (SCAN + UNLINK, in batches). */
  private async dropVersion(version: string): Promise<void> {
    const match = `${this.ns}:v:${version}:*`;
    let cursor = '0';
    do {
      const r = await this.client.scan(cursor, { MATCH: match, COUNT: 1_000 });
      cursor = String(r.cursor);
      if (r.keys.length > 0) await this.client.unlink(r.keys);
    } while (cursor !== '0');
  }

  /** Every customer key of the current version (tests and parity checks; SCAN, so not for hot paths). */
  async customerKeys(): Promise<string[]> {
    const version = await this.currentVersion(true);
    if (version === null) return [];
    const prefix = `${this.ns}:v:${version}:c:`;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const r = await this.client.scan(cursor, { MATCH: `${prefix}*`, COUNT: 1_000 });
      cursor = String(r.cursor);
      for (const k of r.keys) keys.push(k.slice(prefix.length));
    } while (cursor !== '0');
    return keys;
  }

  async health(): Promise<OnlineStoreHealth> {
    try {
      await this.client.ping();
      return { ok: true, backend: 'redis', version: await this.currentVersion(true), detail: 'redis answers' };
    } catch (error) {
      return { ok: false, backend: 'redis', version: null, detail: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => undefined);
  }
}
