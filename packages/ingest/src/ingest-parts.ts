import type { StageResult } from '@bolsillo/core';
import { mergeIngest } from './ingest-shards';
import { ingestLanding, type LandingIngest } from './landing';
import { runIngest, type RunIngestOptions } from './run';

/**
 * `ingest --parts N`: the lake that shards 0..N-1 and their merge write, from one parse in this process
 * (the shards would each parse every file). The source rows are split by customer into each date's
 * `part-<i>.parquet` with each part's manifest, then each part's landed transactions, then the merge's lake
 * manifest (`shards: N`), so that `features --shard i/N` reads only its own parts. N = 1 is the whole stage.
 */
export async function ingestInParts(
  options: Omit<RunIngestOptions, 'shard' | 'parts'> & { readonly parts: number },
): Promise<StageResult> {
  const log = options.log ?? (() => undefined);
  const n = options.parts;
  const r = await runIngest(options);
  if (n <= 1) return { ...r, summary: { ...r.summary, landing: ingestLanding(options.dataDir, log) } };
  const landing: LandingIngest[] = [];
  for (let i = 0; i < n; i++) landing.push(ingestLanding(options.dataDir, log, { index: i, count: n }));
  const merged = mergeIngest({
    dataDir: options.dataDir,
    shards: n,
    ...(options.paramsFile ? { paramsFile: options.paramsFile } : {}),
    log,
  });
  return {
    ...r,
    summary: {
      ...r.summary,
      parts: n,
      partitions_total: merged.summary?.partitions_total,
      content_hash: merged.summary?.content_hash,
      landing: {
        files: landing[0]!.files,
        rows: landing.reduce((sum, l) => sum + l.rows, 0),
        parts_unchanged: landing.filter((l) => l.unchanged).length,
      },
    },
  };
}
