import { ONLINE_STORE_ENV, type OnlineStore } from './online-store';

/** Options of {@link openOnlineStore}. */
export interface OpenOnlineStoreOptions {
  /** The backend URL (`BOLSILLO_ONLINE_STORE`): undefined or '' for the embedded store, `redis://…` for Redis. */
  readonly url?: string;
  /** Folder of the embedded store (`dataLayout(dataDir).onlineEmbedded`). */
  readonly embeddedDir: string;
  /** Redis key namespace (tests isolate themselves with one). */
  readonly namespace?: string;
}

/**
 * Open the configured online store backend. The backends' clients (lmdb, redis) are loaded here, on
 * first use, not when core is imported: stages that never touch the online store do not pay for them.
 */
export async function openOnlineStore(options: OpenOnlineStoreOptions): Promise<OnlineStore> {
  const url = options.url ?? '';
  if (url === '') return openEmbeddedOnlineStore(options.embeddedDir);
  if (/^rediss?:\/\//.test(url)) {
    const { RedisOnlineStore } = require('./redis') as typeof import('./redis');
    return RedisOnlineStore.connect({ url, namespace: options.namespace });
  }
  throw new Error(
    `${ONLINE_STORE_ENV}: unsupported online store "${url}" (leave it unset for the embedded store, or give redis://host:port)`,
  );
}

/** The embedded store in `dir`, opened synchronously (it needs no server). */
export function openEmbeddedOnlineStore(dir: string): OnlineStore {
  const { EmbeddedOnlineStore } = require('./embedded') as typeof import('./embedded');
  return new EmbeddedOnlineStore(dir);
}
