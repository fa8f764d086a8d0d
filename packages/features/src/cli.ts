import path from 'node:path';
import {
  DEFAULT_PARQUET_COMPRESSION,
  ONLINE_STORE_ENV,
  ONLINE_STORE_FILE,
  dataLayout,
  loadParams,
  openOnlineStore,
  runCli,
} from '@bolsillo/core';
import { mergeFeatures } from './features-shards';
import { DEFAULT_PARAMS_FILE, FeaturesParamsSchema } from './params';
import { runFeatures } from './run';

void runCli({
  name: 'features',
  description:
    'Compute point-in-time transaction and customer-history features from the lake (DATA_DIR/lake/transactions) into the ' +
    'offline feature store (DATA_DIR/feature-store/transactions/date=*/part-0.parquet) and the online store ' +
    '(DATA_DIR/feature-store/online/customers.json), then materialises that snapshot into the online store ' +
    `(${ONLINE_STORE_ENV}: unset for the embedded store in DATA_DIR/online, redis://host:port for Redis) and switches to it. ` +
    'Incremental: only partitions whose inputs or history changed are rewritten. ' +
    'Sharded by customer: shard i of N (--shard i/N) computes the customers whose key hashes to i into part-<i>.parquet; ' +
    "--merge then writes the manifest and the online store from the shards' and materialises it.",
  shardable: true,
  options: {
    params: { type: 'string', description: 'Params file (JSON, FeaturesParamsSchema).', default: DEFAULT_PARAMS_FILE },
    full: { type: 'boolean', description: 'Ignore the manifest and recompute every partition.', default: false },
    'materialise-only': {
      type: 'boolean',
      description: 'Only materialise the existing snapshot file into the online store.',
      default: false,
    },
  },
  run: async (ctx) => {
    const layout = dataLayout(ctx.dataDir);
    const materialise = async () => {
      const store = await openOnlineStore({ url: process.env[ONLINE_STORE_ENV], embeddedDir: layout.onlineEmbedded });
      try {
        const version = await store.materialiseFile(path.join(layout.onlineStore, ONLINE_STORE_FILE));
        ctx.log(
          version === null
            ? 'online store: no snapshot file to materialise'
            : `online store (${store.backend}): version ${version} is current`,
        );
        return version;
      } finally {
        await store.close();
      }
    };
    if (ctx.values['materialise-only'] === true) {
      if (ctx.shard.kind !== 'whole') throw new Error('--materialise-only goes alone, without --shard or --merge');
      const version = await materialise();
      return { rowsIn: 0, rowsOut: 0, summary: { materialised: version } };
    }
    if (ctx.shard.kind === 'merge') {
      const m = mergeFeatures({ layout, shards: ctx.shard.count, log: ctx.log });
      const materialised = await materialise();
      return {
        rowsIn: m.partitions,
        rowsOut: m.customers,
        unitIn: 'partitions',
        unitOut: 'customers',
        summary: { ...m, materialised },
      };
    }
    const shard = ctx.shard.kind === 'shard' ? { index: ctx.shard.index, count: ctx.shard.count } : undefined;
    // The kernel params feed the config hash and the online store; the Parquet codec is storage only.
    const { parquet, ...params } = loadParams(path.resolve(String(ctx.values.params)), FeaturesParamsSchema);
    const compression = parquet?.compression ?? DEFAULT_PARQUET_COMPRESSION;
    const r = await runFeatures({
      dataDir: ctx.dataDir,
      params,
      compression,
      full: ctx.values.full === true,
      ...(shard ? { shard } : {}),
      log: ctx.log,
    });
    ctx.log(
      `${r.partitionsWritten}/${r.partitionsIn} partitions written, ${r.partitionsRemoved} removed, ${r.customers} customers (${r.reason})`,
    );
    // A shard's states are a part of the online store: the merge materialises the whole.
    const materialised = shard ? null : await materialise();
    return { rowsIn: r.rowsIn, rowsOut: r.rowsOut, summary: { ...r, compression, materialised } };
  },
});
