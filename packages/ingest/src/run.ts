import os from 'node:os';
import path from 'node:path';
import {
  cleanTemporaries,
  dataLayout,
  loadParams,
  readJson,
  resolveSecret,
  type DataLayout,
  type StageResult,
} from '@bolsillo/core';
import { startIngestWorkers } from './ingest-workers';
import { nextManifest, writeIngestManifest, writeQuarantine } from './ingest-manifest';
import { checkSecret, hashSourceFiles, isNothingToDo, planRun, type IngestRunPlan } from './ingest-plan';
import { logSummary, summarise } from './ingest-summary';
import { EMPTY_MANIFEST, affectedDates, type IngestManifest } from './lake';
import { DEFAULT_K_ANONYMITY, DEFAULT_PARAMS_FILE, IngestParamsSchema } from './params';
import { SpillStore, parseSources } from './parse-sources';
import { removeStalePartitions, writePartitions } from './write-partitions';

/** Inputs of {@link runIngest}. */
export interface RunIngestOptions {
  readonly rawDir: string;
  readonly dataDir: string;
  readonly backfill?: boolean;
  readonly paramsFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (message: string) => void;
}

/**
 * Ingest every new or changed `*.csv` of `rawDir` into the raw zone of `dataDir` (see the package docs):
 * plan from the manifest, parse, write the affected partitions, the quarantine, then the manifest. Partitions
 * are written atomically, the manifest last, so a killed run is repaired by the next one.
 */
export async function runIngest(options: RunIngestOptions): Promise<StageResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[ingest] ${m}\n`));
  const params = loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, IngestParamsSchema);
  const layout = dataLayout(options.dataDir);
  const backfill = options.backfill === true;
  const hashes = await hashSourceFiles(options.rawDir);
  cleanTemporaries(path.dirname(layout.lake));
  const manifest = readJson<IngestManifest>(layout.ingestManifest, EMPTY_MANIFEST);
  const plan = planRun(hashes, manifest, backfill);
  for (const [f, r] of Object.entries(plan.rejectedBefore))
    log(`WARNING: ${f} stays quarantined (unchanged since rejected): ${r.reason}`);
  if (isNothingToDo(plan)) return nothingToDo(plan, manifest, log);
  log(
    `plan: parse ${plan.parse.join(', ') || '-'}; drop ${plan.drop.join(', ') || '-'}; unchanged ${plan.unchanged.length}${backfill ? ' (backfill)' : ''}`,
  );
  const secret = resolveSecret(options.env ?? process.env, log);
  const fingerprint = checkSecret(secret, manifest, backfill);

  const utf8Cache = new Map<string, Uint8Array>();
  const spills = new SpillStore(spillDir(layout), utf8Cache);
  // Worker threads, started once for both phases: range parsing of large files, then Parquet encoding.
  const parseWorkers = params.parse_workers ?? Math.max(0, os.availableParallelism() - 1);
  const parquetWorkers = params.parquet_workers ?? Math.min(1, os.availableParallelism() - 1);
  const workers = startIngestWorkers(Math.max(parseWorkers, parquetWorkers));
  try {
    const { parsed, rejected } = await parseSources(plan.parse, hashes, Object.keys(manifest.partitions).length === 0, {
      rawDir: options.rawDir,
      params,
      secret,
      workers,
      parseWorkers,
      spills,
      log,
    });
    const dates = affectedDates(plan, manifest, parsed);
    const partitions = await writePartitions(dates, backfill ? {} : { ...manifest.partitions }, {
      lake: layout.lake,
      backfill,
      drop: new Set(plan.drop),
      parsed,
      spills,
      utf8Cache,
      parquetWorkers,
      worker: workers[0],
      log,
    });
    if (backfill) removeStalePartitions(layout.lake, partitions);
    const allRejected = { ...plan.rejectedBefore, ...rejected };
    writeQuarantine(layout.quarantine, plan, parsed, allRejected);
    const next = nextManifest({
      plan,
      previous: manifest,
      parsed,
      partitions,
      rejected: allRejected,
      secretFingerprint: fingerprint,
    });
    const summary = summarise(parsed, plan.drop, next, params.k_anonymity ?? DEFAULT_K_ANONYMITY);
    writeIngestManifest(layout.ingestManifest, next, manifest, parsed.length > 0, summary.k_anonymity);
    logSummary(log, summary, dates.length);
    return {
      rowsIn: summary.rows_in,
      rowsOut: summary.rows_out,
      summary: summary as unknown as Record<string, unknown>,
    };
  } catch (error) {
    // A failed run (a full disk, a bad file under the `fail` policy) leaves no temporary partition behind.
    cleanTemporaries(path.dirname(layout.lake));
    throw error;
  } finally {
    spills.remove();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Spilled rows live in a temporary folder (removed at the end, or by cleanTemporaries after a crash). */
function spillDir(layout: DataLayout): string {
  return path.join(path.dirname(layout.lake), `.spill.tmp-${process.pid}`);
}

/** The result of a run whose plan changes nothing. */
function nothingToDo(plan: IngestRunPlan, manifest: IngestManifest, log: (message: string) => void): StageResult {
  const files = Object.keys(plan.hashes).length;
  log(`nothing to do: ${files} file(s) unchanged since the last run`);
  return {
    rowsIn: 0,
    rowsOut: 0,
    summary: {
      files_unchanged: files,
      files_rejected: Object.entries(plan.rejectedBefore).map(([file, r]) => ({ file, reason: r.reason })),
      content_hash: manifest.content_hash,
    },
  };
}
