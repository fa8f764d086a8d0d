#!/usr/bin/env tsx
import { parseShardCount, runCli } from '@bolsillo/core';
import { ingestInParts } from './ingest-parts';
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
    "whose key hashes to i; --merge then writes lake/manifest.json from the shards' manifests. " +
    '--parts N writes that same lake (every part, shard manifest and landing part, then the merge) from one parse ' +
    'in one process, so that features --shard i/N reads only its own parts.',
  shardable: true,
  options: {
    backfill: { type: 'boolean', description: 'Rebuild the whole lake from all files.', default: false },
    parts: {
      type: 'string',
      check: (v) => {
        try {
          parseShardCount(v, 'part count');
          return null;
        } catch (error) {
          return (error as Error).message;
        }
      },
      description:
        'Write the lake of N shards + merge (date=*/part-<i>.parquet, manifest shards: N) from one parse in this ' +
        'process, for a single machine: the shards would each parse every file. Explicit only (BOLSILLO_SHARDS ' +
        'alone still means the whole stage); not with --shard, --merge or JOB_COMPLETION_INDEX.',
    },
  },
  run: async ({ rawDir, dataDir, values, log, shard }) => {
    if (shard.kind === 'merge') {
      if (values.backfill === true) throw new Error('--backfill goes with the shard runs, not --merge');
      return mergeIngest({ dataDir, shards: shard.count, log });
    }
    if (typeof values.parts === 'string') {
      if (shard.kind !== 'whole')
        throw new Error('--parts writes every part in one process: not with --shard, --merge or JOB_COMPLETION_INDEX');
      const parts = parseShardCount(values.parts, 'part count');
      return ingestInParts({ rawDir, dataDir, backfill: values.backfill === true, log, parts });
    }
    const part = shard.kind === 'shard' ? { shard: { index: shard.index, count: shard.count } } : {};
    const r = await runIngest({ rawDir, dataDir, backfill: values.backfill === true, log, ...part });
    const landing = ingestLanding(dataDir, log, part.shard);
    return { ...r, summary: { ...r.summary, landing } };
  },
});
