#!/usr/bin/env tsx
import { runCli } from '@bolsillo/core';
import { mergeIngest } from './ingest-shards';
import { ingestLanding } from './landing';
import { runIngest } from './run';

void runCli({
  name: 'ingest',
  description:
    'Parse the MiBolsillo CSV files of RAW_DIR, validate and quarantine bad rows, pseudonymise customers ' +
    '(secret from BOLSILLO_PSEUDONYM_SECRET) and write Hive-partitioned Parquet to DATA_DIR/lake/transactions. ' +
    'Incremental: only new or changed files are processed. Then the landing folder (DATA_DIR/landing: transactions pushed over HTTP ' +
    'or the stream) goes into the lake as date=*/landing-0.parquet, each transaction id once. ' +
    'Sharded by customer: shard i of N (--shard i/N) writes part-<i>.parquet and landing-<i>.parquet with the rows of the customers ' +
    "whose key hashes to i; --merge then writes lake/manifest.json from the shards' manifests.",
  shardable: true,
  options: {
    backfill: { type: 'boolean', description: 'Rebuild the whole lake from all files.', default: false },
  },
  run: async ({ rawDir, dataDir, values, log, shard }) => {
    if (shard.kind === 'merge') {
      if (values.backfill === true) throw new Error('--backfill goes with the shard runs, not --merge');
      return mergeIngest({ dataDir, shards: shard.count, log });
    }
    const part = shard.kind === 'shard' ? { shard: { index: shard.index, count: shard.count } } : {};
    const r = await runIngest({ rawDir, dataDir, backfill: values.backfill === true, log, ...part });
    const landing = ingestLanding(dataDir, log, part.shard);
    return { ...r, summary: { ...r.summary, landing } };
  },
});
