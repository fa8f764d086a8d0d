import path from 'node:path';
import { isoDateCheck, runCli } from '@bolsillo/core';
import { DEFAULT_PARAMS_FILE, runBuild } from './run';

void runCli({
  name: 'build',
  description:
    'Build the master table from the offline feature store: target, data-quality suite, distribution profile, ' +
    'leakage check, feature selection, group-aware splits and CV folds. Writes DATA_DIR/master/<hash>/ and master/latest.json.',
  options: {
    params: { type: 'string', description: 'Params file.', default: DEFAULT_PARAMS_FILE },
    'as-of': {
      type: 'string',
      check: isoDateCheck,
      description: 'Reference date (YYYY-MM-DD) for the freshness expectation; default params, else today.',
    },
  },
  run: async (ctx) =>
    runBuild({
      dataDir: ctx.dataDir,
      paramsFile: path.resolve(String(ctx.values.params)),
      ...(typeof ctx.values['as-of'] === 'string' ? { asOf: ctx.values['as-of'] } : {}),
      log: ctx.log,
    }),
});
