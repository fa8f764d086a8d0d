import path from 'node:path';
import { loadParams, runCli } from '@bolsillo/core';
import { FeaturesParamsSchema } from './params';
import { runFeatures } from './run';

void runCli({
  name: 'features',
  description:
    'Compute point-in-time transaction and customer-history features from the lake (DATA_DIR/lake/transactions) into the ' +
    'offline feature store (DATA_DIR/feature-store/transactions/date=*/part-0.parquet) and the online store ' +
    '(DATA_DIR/feature-store/online/customers.json). Incremental: only partitions whose inputs or history changed are rewritten.',
  options: {
    params: { type: 'string', description: 'Params file (JSON, FeaturesParamsSchema).', default: path.join('packages', 'features', 'params.json') },
    full: { type: 'boolean', description: 'Ignore the manifest and recompute every partition.', default: false },
  },
  run: async (ctx) => {
    // The kernel params feed the config hash and the online store; the Parquet codec is storage only.
    const { parquet, ...params } = loadParams(path.resolve(String(ctx.values.params)), FeaturesParamsSchema);
    const compression = parquet?.compression ?? 'snappy';
    const r = await runFeatures({ dataDir: ctx.dataDir, params, compression, full: ctx.values.full === true, log: ctx.log });
    ctx.log(`${r.partitionsWritten}/${r.partitionsIn} partitions written, ${r.partitionsRemoved} removed, ${r.customers} customers (${r.reason})`);
    return { rowsIn: r.rowsIn, rowsOut: r.rowsOut, summary: { ...r, compression } };
  },
});
