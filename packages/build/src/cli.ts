import path from 'node:path';
import { dataLayout, isoDateCheck, runCli } from '@bolsillo/core';
import { mergeBuild, runBuildShard } from './build-shards';
import { DEFAULT_PARAMS_FILE, cleanMasterTemporaries, runBuild } from './run';

void runCli({
  name: 'build',
  description:
    'Build the master table from the offline feature store: target, data-quality suite, distribution profile, ' +
    'leakage check, feature selection, group-aware splits and CV folds. Writes DATA_DIR/master/<hash>/ and master/latest.json. ' +
    'Sharded by customer: shard i of N (--shard i/N) labels the snapshots of the customers whose key hashes to i and counts its ' +
    "quality expectations (DATA_DIR/master/shards/<i>-of-<N>/); --merge then runs the rest of the build over every shard's snapshots.",
  shardable: true,
  options: {
    params: { type: 'string', description: 'Params file.', default: DEFAULT_PARAMS_FILE },
    'as-of': {
      type: 'string',
      check: isoDateCheck,
      description: 'Reference date (YYYY-MM-DD) for the freshness expectation; default params, else today.',
    },
  },
  run: async (ctx) => {
    const options = {
      dataDir: ctx.dataDir,
      paramsFile: path.resolve(String(ctx.values.params)),
      ...(typeof ctx.values['as-of'] === 'string' ? { asOf: ctx.values['as-of'] } : {}),
      log: ctx.log,
    };
    if (ctx.shard.kind === 'shard')
      return runBuildShard({ ...options, index: ctx.shard.index, count: ctx.shard.count });
    if (ctx.shard.kind === 'merge') {
      // After every shard, before anything is read: a killed merge's leftovers go first.
      cleanMasterTemporaries(dataLayout(ctx.dataDir));
      return mergeBuild({ ...options, shards: ctx.shard.count });
    }
    return runBuild(options);
  },
});
