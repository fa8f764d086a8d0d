/**
 * `npx nx run serve:batch -- --from 2019-12-01 --to 2019-12-31 [--version <id>]`: score feature-store
 * partitions with the champion (or a given version) into `predictions/date=*\/part-0.parquet`.
 */
import { dataLayout, readContract, runCli, DEFAULT_FEATURE_PARAMS } from '@bolsillo/core';
import { loadModel, readAliases } from '@bolsillo/model';
import { FeatureStoreManifestSchema } from '@bolsillo/schema';
import { scorePartitions } from './batch';

void runCli({
  name: 'serve-batch',
  description:
    'Batch scoring: reads feature-store partitions date=YYYY-MM-DD in [--from, --to] and writes one predictions/date=YYYY-MM-DD/part-0.parquet per partition ' +
    '(txn_id, customer_key, date, the exact flag is_revenge_spending, is_snapshot, the forecast probability and its alert, threshold, model_version), ' +
    'through the same scoring code as the API.',
  options: {
    from: {
      type: 'string',
      description: 'First partition date (inclusive, YYYY-MM-DD); all from the start when omitted.',
    },
    to: { type: 'string', description: 'Last partition date (inclusive, YYYY-MM-DD); all to the end when omitted.' },
    version: { type: 'string', description: 'Registry version to score with; the champion when omitted.' },
  },
  run: async (ctx) => {
    const layout = dataLayout(ctx.dataDir);
    for (const name of ['from', 'to'] as const) {
      const v = ctx.values[name];
      if (v !== undefined && (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)))
        throw new Error(`--${name} must be a date YYYY-MM-DD, got ${String(v)}`);
    }
    const version = (ctx.values.version as string | undefined) ?? readAliases(layout.registry).champion;
    if (!version)
      throw new Error(
        `no champion in ${layout.registryAliases} and no --version given: train and promote a model first`,
      );
    const model = await loadModel(layout.registry, version);
    ctx.log(`scoring with ${version} (${model.card.family}, threshold ${model.threshold.toFixed(4)})`);
    // The flag uses the params the features were computed with (the build checks they equal its rule).
    const params =
      readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params ?? DEFAULT_FEATURE_PARAMS;
    const summary = scorePartitions({
      rule: { threshold: params.revengeThreshold, essential_groups: params.essentialGroups },
      featureStoreDir: layout.featureStore,
      predictionsDir: layout.predictions,
      model,
      version,
      from: ctx.values.from as string | undefined,
      to: ctx.values.to as string | undefined,
      onPartition: (date, rows) => ctx.log(`${date}: ${rows} rows`),
    });
    if (summary.partitions === 0)
      throw new Error(`no feature-store partitions in ${layout.featureStore} for the requested range`);
    ctx.log(
      `${summary.rows} rows in ${summary.partitions} partitions: ${summary.flagged} flagged, ${summary.positives} forecast alerts, ${Math.round(summary.rowsPerSecond)} rows/s`,
    );
    return { rowsIn: summary.rows, rowsOut: summary.rows, summary: { ...summary, version } };
  },
});
