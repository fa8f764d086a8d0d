import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import {
  canonicalJson,
  cleanPartTemporaries,
  cleanTemporaries,
  dataLayout,
  loadParams,
  readJson,
  removeStaleParts,
  resolveSecret,
  shardPartName,
  type DataLayout,
  type StageResult,
} from '@bolsillo/core';
import { startIngestWorkers } from './ingest-workers';
import { nextManifest, writeIngestManifest, writeQuarantine } from './ingest-manifest';
import { checkSecret, hashSourceFiles, isNothingToDo, planRun, type IngestRunPlan } from './ingest-plan';
import { logSummary, summarise, type IngestSummary } from './ingest-summary';
import { fileIdentity, shardLakeDir } from './ingest-shards';
import { kAnonymityGroups, type QuasiIdentifiers } from './parse-file';
import { ShardRowFilter } from './shard-rows';
import { EMPTY_MANIFEST, affectedDates, type IngestManifest } from './lake';
import { DEFAULT_K_ANONYMITY, DEFAULT_PARAMS_FILE, IngestParamsSchema } from './params';
import { parseSources } from './parse-sources';
import { PartSpills, SpillStore } from './spill-store';
import { removeStalePartitions, writePartitions } from './write-partitions';

/** Inputs of {@link runIngest}. */
export interface RunIngestOptions {
  readonly rawDir: string;
  readonly dataDir: string;
  readonly backfill?: boolean;
  readonly paramsFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (message: string) => void;
  /**
   * Run shard `index` of `count`: keep the rows of the customers hashing to `index`, write them to
   * `part-<index>.parquet` of each date, and keep this shard's manifest in `lake/shards/<index>-of-<count>/`;
   * `mergeIngest` then writes the lake manifest. Without it the run is the whole stage.
   */
  readonly shard?: { readonly index: number; readonly count: number };
  /**
   * Write what shards 0..parts-1 would write (their parts and manifests) from one parse in this process;
   * `ingestInParts` then adds the landing parts and the merge. Not with `shard`.
   */
  readonly parts?: number;
}

/** One lake writer of a run: the whole lake, one shard's parts, or one of the parts of `--parts N`. */
interface Writer {
  /** Part index (undefined: the whole lake, `part-0.parquet`). */
  readonly index: number | undefined;
  readonly manifestFile: string;
  /** Its manifest before the run (empty for a rebuild). */
  readonly manifest: IngestManifest;
  /** Its customers' rows (a shard or part of a sharded lake). */
  readonly rows: ShardRowFilter | undefined;
  readonly spills: SpillStore;
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
  const shard = options.shard && options.shard.count > 1 ? options.shard : undefined;
  if (shard && options.parts !== undefined) throw new Error('a shard run writes its own part, not --parts');
  const parts = !shard && (options.parts ?? 1) > 1 ? options.parts! : undefined;
  const count = shard?.count ?? parts ?? 1;
  const indices = shard ? [shard.index] : parts ? Array.from({ length: parts }, (_, i) => i) : [undefined];
  const hashes = await hashSourceFiles(options.rawDir);
  const manifestFiles = indices.map((i) =>
    i === undefined ? layout.ingestManifest : path.join(shardLakeDir(layout, i, count), 'manifest.json'),
  );
  cleanRunTemporaries(layout, shard?.index);
  const recorded = manifestFiles.map((f) => readJson<IngestManifest>(f, EMPTY_MANIFEST));
  // A lake another shard count wrote (a shard without its own manifest yet, one process after shards)
  // is rebuilt: this run's parts are written afresh and the others removed. Parts written in one process
  // plan from one manifest, so their shards' manifests must agree too.
  const rebuild =
    count > 1
      ? !manifestFiles.every((f) => fs.existsSync(f)) || !recorded.every((m) => sameSources(m, recorded[0]!))
      : (recorded[0]!.shards ?? 1) !== 1;
  const backfill = options.backfill === true || rebuild;
  // A first sharded run rebuilds too, but there was no lake to speak of.
  const fresh = ![layout.ingestManifest, ...manifestFiles].some((f) => fs.existsSync(f));
  const manifests = recorded.map((m) => (rebuild ? EMPTY_MANIFEST : m));
  const manifest = manifests[0]!;
  const plan = planRun(hashes, manifest, backfill);
  for (const [f, r] of Object.entries(plan.rejectedBefore))
    log(`WARNING: ${f} stays quarantined (unchanged since rejected): ${r.reason}`);
  if (isNothingToDo(plan)) return nothingToDo(plan, manifest, log);
  log(
    `plan: parse ${plan.parse.join(', ') || '-'}; drop ${plan.drop.join(', ') || '-'}; unchanged ${plan.unchanged.length}${fresh ? ' (first run)' : backfill ? ` (backfill${rebuild ? ': the lake was written by another shard count' : ''})` : ''}${parts ? `; ${parts} parts from one parse` : ''}`,
  );
  const secret = resolveSecret(options.env ?? process.env, log);
  // The lake's secret is checked against the lake manifest too: a first shard run must not re-key a lake.
  const fingerprint = checkSecret(secret, manifest, backfill);
  if (rebuild && options.backfill !== true)
    checkSecret(secret, readJson<IngestManifest>(layout.ingestManifest, EMPTY_MANIFEST), false);

  const utf8Cache = new Map<string, Uint8Array>();
  const writers: Writer[] = indices.map((index, k) => ({
    index,
    manifestFile: manifestFiles[k]!,
    manifest: manifests[k]!,
    rows: index === undefined ? undefined : new ShardRowFilter(index, count),
    spills: new SpillStore(spillDir(layout, index)),
  }));
  // Worker threads, started once for both phases: range parsing of large files, then Parquet encoding.
  const parseWorkers = params.parse_workers ?? Math.max(0, os.availableParallelism() - 1);
  const parquetWorkers = params.parquet_workers ?? Math.min(1, os.availableParallelism() - 1);
  const workers = startIngestWorkers(Math.max(parseWorkers, parquetWorkers));
  try {
    // A shard keeps its rows as they are parsed; parts are split from the whole parse, part by part.
    const { parsed, rejected } = await parseSources(plan.parse, hashes, Object.keys(manifest.partitions).length === 0, {
      rawDir: options.rawDir,
      params,
      secret,
      workers,
      parseWorkers,
      spills: parts
        ? new PartSpills(
            writers.map((w) => w.spills),
            writers.map((w) => w.rows!),
          )
        : writers[0]!.spills,
      ...(shard ? { shardRows: writers[0]!.rows! } : {}),
      log,
    });
    const allRejected = { ...plan.rejectedBefore, ...rejected };
    // Quarantine is per source file, the same in every shard (each parses every file): shard 0 writes it.
    if ((shard?.index ?? 0) === 0) writeQuarantine(layout.quarantine, plan, parsed, allRejected);
    const kParams = params.k_anonymity ?? DEFAULT_K_ANONYMITY;
    let written = 0;
    let summary: IngestSummary | undefined;
    for (const w of writers) {
      const mine = parts ? parsed.map((p) => w.rows!.finished(p)) : parsed;
      const dates = affectedDates(plan, w.manifest, mine);
      const partitions = await writePartitions(dates, backfill ? {} : { ...w.manifest.partitions }, {
        lake: layout.lake,
        ...(w.index === undefined ? {} : { shard: w.index }),
        backfill,
        drop: new Set(plan.drop),
        parsed: mine,
        spills: w.spills,
        utf8Cache,
        parquetWorkers,
        worker: workers[0],
        log,
      });
      written += dates.length;
      if (backfill) removeStalePartitions(layout.lake, partitions, w.index);
      const next = nextManifest({
        plan,
        previous: w.manifest,
        parsed: mine,
        partitions,
        rejected: allRejected,
        secretFingerprint: fingerprint,
      });
      if (w.index === undefined) {
        // One process owns the whole lake: parts of shards a sharded run left, and their manifests, go.
        removeStaleParts(layout.lake, 1, ['part']);
        fs.rmSync(layout.lakeShards, { recursive: true, force: true });
      }
      const mineSummary = summarise(mine, plan.drop, next, kParams);
      writeIngestManifest(
        w.manifestFile,
        w.index === undefined
          ? next
          : { ...next, k_anonymity_groups: shardGroups(mine, w.manifest, kParams.quasi_identifier_sets) },
        w.manifest,
        parsed.length > 0,
        mineSummary.k_anonymity,
      );
      w.spills.remove();
      summary = mineSummary;
    }
    // Parts: the whole parse's figures (partitions and content hash are the merge's, after the landing parts).
    if (parts) summary = summarise(parsed, plan.drop, { ...EMPTY_MANIFEST, rejected: allRejected }, kParams);
    logSummary(log, summary!, written);
    return {
      rowsIn: summary!.rows_in,
      rowsOut: summary!.rows_out,
      summary: summary as unknown as Record<string, unknown>,
    };
  } catch (error) {
    // A failed run (a full disk, a bad file under the `fail` policy) leaves no temporary partition behind.
    cleanRunTemporaries(layout, shard?.index);
    throw error;
  } finally {
    for (const w of writers) w.spills.remove();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Whether two shards' manifests saw the same source files and secret (what one parse for both needs). */
function sameSources(a: IngestManifest, b: IngestManifest): boolean {
  return (
    a.secret_fingerprint === b.secret_fingerprint && canonicalJson(fileIdentity(a)) === canonicalJson(fileIdentity(b))
  );
}

/** Spilled rows live in a temporary folder (removed at the end, or by cleanRunTemporaries after a crash). */
function spillDir(layout: DataLayout, shard: number | undefined): string {
  return path.join(path.dirname(layout.lake), `.spill${shard === undefined ? '' : `-${shard}`}.tmp-${process.pid}`);
}

/**
 * Temporaries a killed run left: all of them for the whole stage; for shard i only its own (its parts'
 * and its spill folders), as the other shards may be writing theirs.
 */
function cleanRunTemporaries(layout: DataLayout, shard: number | undefined): void {
  const root = path.dirname(layout.lake);
  if (shard === undefined) {
    cleanTemporaries(root);
    return;
  }
  cleanPartTemporaries(layout.lake, [shardPartName(shard), shardPartName(shard, 'landing')]);
  if (!fs.existsSync(root)) return;
  for (const f of fs.readdirSync(root))
    if (f.startsWith(`.spill-${shard}.tmp-`)) fs.rmSync(path.join(root, f), { recursive: true, force: true });
}

/** A shard's k-anonymity groups: of this run's files' customers, or the previous run's when it parsed none. */
function shardGroups(
  parsed: readonly { readonly customers: ReadonlyMap<string, QuasiIdentifiers> }[],
  previous: IngestManifest,
  sets: readonly (readonly (keyof QuasiIdentifiers)[])[],
): readonly Readonly<Record<string, number>>[] {
  if (parsed.length === 0) return previous.k_anonymity_groups ?? [];
  const customers = new Map<string, QuasiIdentifiers>();
  for (const p of parsed) for (const [k, q] of p.customers) customers.set(k, q);
  return kAnonymityGroups(customers.values(), sets);
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
