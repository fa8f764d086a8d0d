import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  cleanTemporaries,
  createProgress,
  dataLayout,
  loadParams,
  readJson,
  readParquetFile,
  resolveSecret,
  SECRET_ENV,
  rowsFromTable,
  sha256,
  sha256File,
  canonicalJson,
  partitionDir,
  writeFileAtomic,
  writeJsonAtomic,
  type StageResult,
} from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import {
  EMPTY_MANIFEST,
  LAKE_SCHEMA,
  affectedDates,
  bucketColumns,
  mergePartition,
  planIngest,
  type IngestManifest,
  type ManifestFile,
} from './lake';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { buildTable } from './arrow-build';
import { ConcurrentAtomicWriter } from './durable-write';
import { kAnonymityReport, QUASI_IDENTIFIERS, type KAnonymityReport, type QuasiIdentifiers } from './parse-file';
import { IngestError } from './dialect';
import { parseFileColumnar, readChunks, type ColumnarParsedFile } from './parse-fast';
import { parseFileParallel } from './parse-ranges';
import { startIngestWorkers } from './ingest-workers';
import { columnarTable } from './columnar-table';
import { ParquetPool } from './parquet-pool';

/** The ingest stage's params (`packages/ingest/params.json`). */
export const IngestParamsSchema = Type.Object(
  {
    min_age: Type.Integer({ minimum: 0, description: 'Youngest plausible card holder.' }),
    max_age: Type.Integer({ maximum: 130, description: 'Oldest plausible card holder.' }),
    chunk_bytes: Type.Integer({ minimum: 4096, description: 'Read size: bounds the working memory of the parser.' }),
    spill_rows: Type.Integer({
      minimum: 1,
      description: 'Valid rows held in memory before they are spilled to temporary Arrow files (bounds memory).',
    }),
    parse_workers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 64,
        description:
          'Worker threads parsing byte ranges of a large file beside the main thread (default: one per extra core; 0: one pass on the main thread; same output either way).',
      }),
    ),
    parquet_workers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1,
        description:
          'Worker threads encoding Parquet beside the main thread (0: main thread only; same bytes either way).',
      }),
    ),
    bad_file_policy: Type.Optional(
      Type.Union([Type.Literal('warn'), Type.Literal('fail')], {
        description:
          'A file that cannot be ingested at all (wrong header, undecodable bytes, no valid row): `warn` quarantines it with its reason and ingests the others (default); `fail` stops the run and writes nothing.',
      }),
    ),
    k_anonymity: Type.Optional(
      Type.Object(
        {
          min_k: Type.Integer({
            minimum: 1,
            description:
              'Smallest acceptable group of customers sharing the same quasi-identifiers; below it the run warns.',
          }),
          quasi_identifier_sets: Type.Array(
            Type.Array(Type.Union(QUASI_IDENTIFIERS.map((q) => Type.Literal(q))), { minItems: 1 }),
            {
              minItems: 1,
              description: 'Combinations of customer attributes an attacker may know; k is reported for each.',
            },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** Ingest params. */
export type IngestParams = Static<typeof IngestParamsSchema>;

/** k-anonymity settings used when the params file has none. */
export const DEFAULT_K_ANONYMITY: NonNullable<IngestParams['k_anonymity']> = {
  min_k: 5,
  quasi_identifier_sets: [
    ['age', 'sex', 'city', 'state'],
    ['age', 'sex', 'state'],
    ['sex', 'city', 'state'],
  ],
};

// Target size of a byte range of a large file parsed on several threads.
const RANGE_BYTES = 32 << 20;

/** The default params file beside the package. */
export const DEFAULT_PARAMS_FILE = path.resolve(__dirname, '..', 'params.json');

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
 * Ingest every new or changed `*.csv` of `rawDir` into the raw zone of `dataDir` (see the package docs).
 * Partitions are written atomically, the manifest last, so a killed run is repaired by the next one.
 */
export async function runIngest(options: RunIngestOptions): Promise<StageResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[ingest] ${m}\n`));
  const params = loadParams(options.paramsFile ?? DEFAULT_PARAMS_FILE, IngestParamsSchema);
  const layout = dataLayout(options.dataDir);
  if (!fs.existsSync(options.rawDir)) throw new Error(`raw folder ${options.rawDir} does not exist`);
  const names = fs
    .readdirSync(options.rawDir)
    .filter((f) => f.toLowerCase().endsWith('.csv') && !f.startsWith('.'))
    .sort();
  if (names.length === 0) throw new Error(`no *.csv files in ${options.rawDir}`);
  const hashes: Record<string, string> = {};
  for (const f of names) hashes[f] = await sha256File(path.join(options.rawDir, f));

  cleanTemporaries(path.dirname(layout.lake));
  const manifest = readJson<IngestManifest>(layout.ingestManifest, EMPTY_MANIFEST);
  // A file rejected before and unchanged since stays rejected without being parsed again.
  const rejectedBefore = Object.fromEntries(
    Object.entries(manifest.rejected ?? {}).filter(([f, r]) => !options.backfill && hashes[f] === r.sha256),
  );
  const candidates = Object.fromEntries(Object.entries(hashes).filter(([f]) => !(f in rejectedBefore)));
  const plan = planIngest(candidates, manifest, options.backfill === true);
  for (const [f, r] of Object.entries(rejectedBefore))
    log(`WARNING: ${f} stays quarantined (unchanged since rejected): ${r.reason}`);
  if (plan.parse.length === 0 && plan.drop.length === 0) {
    log(`nothing to do: ${names.length} file(s) unchanged since the last run`);
    return {
      rowsIn: 0,
      rowsOut: 0,
      summary: {
        files_unchanged: names.length,
        files_rejected: Object.entries(rejectedBefore).map(([file, r]) => ({ file, reason: r.reason })),
        content_hash: manifest.content_hash,
      },
    };
  }
  log(
    `plan: parse ${plan.parse.join(', ') || '-'}; drop ${plan.drop.join(', ') || '-'}; unchanged ${plan.unchanged.length}${options.backfill ? ' (backfill)' : ''}`,
  );

  const secret = resolveSecret(options.env ?? process.env, log);
  // Customer keys are HMACs under the secret: a lake built under one secret must not grow under another.
  const fingerprint = secretFingerprint(secret);
  if (
    !options.backfill &&
    Object.keys(manifest.files).length > 0 &&
    manifest.secret_fingerprint &&
    manifest.secret_fingerprint !== fingerprint
  ) {
    throw new IngestError(
      `${SECRET_ENV} differs from the secret the lake was built with (fingerprint ${fingerprint} vs ${manifest.secret_fingerprint}): ` +
        'the new files would give their customers other keys and split them. Use the original secret, or rotate it with --backfill, which re-pseudonymises every file.',
    );
  }
  const policy = params.bad_file_policy ?? 'warn';
  const rejected: Record<string, { sha256: string; reason: string }> = { ...rejectedBefore };
  // Spilled rows live in a temporary folder (removed at the end, or by cleanTemporaries after a crash).
  const utf8Cache = new Map<string, Uint8Array>();
  const spillDir = path.join(path.dirname(layout.lake), `.spill.tmp-${process.pid}`);
  const spilled = new Map<string, string[]>();
  let spillSeq = 0;
  // Worker threads, started once for both phases: range parsing of large files, then Parquet encoding.
  const parseWorkers = params.parse_workers ?? Math.max(0, os.availableParallelism() - 1);
  const parquetWorkers = params.parquet_workers ?? Math.min(1, os.availableParallelism() - 1);
  const workers = startIngestWorkers(Math.max(parseWorkers, parquetWorkers));
  try {
    const parsed: ColumnarParsedFile[] = [];
    for (const f of plan.parse) {
      const fileSpills: [string, string][] = [];
      try {
        const p = await parseOne(f, fileSpills);
        if (p) parsed.push(p);
      } catch (error) {
        if (!(error instanceof IngestError) || policy === 'fail') throw error;
        // The whole file is unusable: quarantine it with its reason and carry on with the others.
        for (const [date, target] of fileSpills) {
          spilled.set(
            date,
            (spilled.get(date) ?? []).filter((s) => s !== target),
          );
          fs.rmSync(target, { force: true });
        }
        rejected[f] = { sha256: hashes[f]!, reason: error.message };
        log(`WARNING: ${f} quarantined, not ingested: ${error.message}`);
      }
    }
    if (parsed.length === 0 && Object.keys(manifest.partitions).length === 0 && Object.keys(rejected).length > 0) {
      throw new IngestError(
        `no file could be ingested: ${Object.entries(rejected)
          .map(([f, r]) => `${f}: ${r.reason}`)
          .join('; ')}`,
      );
    }

    async function parseOne(f: string, fileSpills: [string, string][]): Promise<ColumnarParsedFile | null> {
      const file = path.join(options.rawDir, f);
      const size = fs.statSync(file).size;
      const progress = createProgress(`ingest ${f}`, { total: size, unit: 'bytes', write: log });
      let last = 0;
      const parseParams = { secret, minAge: params.min_age, maxAge: params.max_age };
      const onProgress = (bytes: number, rows: number) => {
        progress.tick(bytes - last, `${rows} rows`);
        last = bytes;
      };
      // Large files: byte ranges parsed on every core; anything the ranges cannot settle exactly (an error,
      // mixed encodings, rows beyond spill_rows) is left to the one-pass parse below, which decides.
      const threads = 1 + Math.min(parseWorkers, workers.length);
      // Ranges of about RANGE_BYTES (at least four per thread, for balance): a range's rows wait with their
      // growth slack until it is parsed and merged, so smaller ranges bound the parse's transient memory.
      const ranges = Math.min(
        Math.max(4 * threads, Math.ceil(size / RANGE_BYTES)),
        Math.floor(size / (4 * params.chunk_bytes)),
      );
      const fast =
        threads > 1 && ranges >= 2
          ? await parseFileParallel(file, f, parseParams, {
              workers: workers.slice(0, threads - 1),
              ranges,
              chunkBytes: params.chunk_bytes,
              maxRows: params.spill_rows - 1,
              onProgress,
            })
          : null;
      if (fast) {
        progress.done(`${fast.rowsIn} rows (${ranges} ranges, ${threads} threads)`);
        return fast;
      }
      last = 0;
      const p = await parseFileColumnar(f, readChunks(file, params.chunk_bytes), parseParams, onProgress, {
        maxRows: params.spill_rows,
        write: (partial) => {
          for (const [date, parts] of partial.buckets) {
            for (const b of parts) {
              const target = path.join(spillDir, `${date}-${spillSeq++}.arrow`);
              fs.mkdirSync(spillDir, { recursive: true });
              fs.writeFileSync(
                target,
                tableToIPC(buildTable(LAKE_SCHEMA, bucketColumns(b, partial, date), utf8Cache), 'file'),
              );
              spilled.set(date, [...(spilled.get(date) ?? []), target]);
              fileSpills.push([date, target]);
            }
          }
        },
      });
      progress.done(`${p.rowsIn} rows`);
      return p;
    }

    // Partitions: merge, write atomically (temporary name + rename), remove the ones left empty.
    const dropFiles = new Set(plan.drop);
    const dates = affectedDates(plan, manifest, parsed);
    const partitions: Record<string, { rows: number; sha256: string }> = options.backfill
      ? {}
      : { ...manifest.partitions };
    const writeProgress = createProgress('ingest write', { total: dates.length, unit: 'partitions', write: log });
    const writer = new ConcurrentAtomicWriter();
    const pool = new ParquetPool(parquetWorkers, workers[0]);
    const jobs: Promise<void>[] = [];
    try {
      for (const date of dates) {
        const dir = partitionDir(layout.lake, date);
        const file = path.join(dir, 'part-0.parquet');
        const hasExisting = !options.backfill && fs.existsSync(file);
        let table: Table;
        if (!hasExisting && !spilled.has(date)) {
          // The common case (a backfill, or a new day's file): typed columns straight to Arrow. Files are
          // parsed in name order and rows appended in line order, so the parts are already sorted.
          table = columnarTable(
            LAKE_SCHEMA,
            date,
            parsed.flatMap((p) => (p.buckets.get(date) ?? []).map((bucket) => ({ parsed: p, bucket }))),
          );
        } else {
          const existing = hasExisting ? rowsFromTable<Transaction>(readParquetFile(file)) : [];
          const fromSpill = (spilled.get(date) ?? []).flatMap((s) =>
            rowsFromTable<Transaction>(tableFromIPC(fs.readFileSync(s))),
          );
          table = buildTable(LAKE_SCHEMA, mergePartition(date, existing, dropFiles, parsed, fromSpill), utf8Cache);
        }
        // The date's typed columns are in the table now: release them, so the write phase frees the parse's
        // memory partition by partition instead of holding every row until the end.
        for (const p of parsed) p.buckets.delete(date);
        const rows = table.numRows;
        if (rows === 0) {
          fs.rmSync(dir, { recursive: true, force: true });
          delete partitions[date];
          writeProgress.tick(1);
          continue;
        }
        // Encoding runs on the worker (small tables here when it is busy): while the worker encodes one
        // partition, this thread builds the next.
        const encoded = pool.encode(table);
        const job = encoded.bytes.then(async (bytes) => {
          partitions[date] = { rows, sha256: sha256(bytes) };
          await writer.write(file, bytes);
          writeProgress.tick(1);
        });
        job.catch(() => undefined); // observed below, by Promise.all
        jobs.push(job);
        if (!encoded.offloaded) await job;
        else await encoded.accepted;
      }
      await Promise.all(jobs);
    } finally {
      await pool.close();
    }
    await writer.flush();
    writeProgress.done();
    if (options.backfill && fs.existsSync(layout.lake)) {
      for (const entry of fs.readdirSync(layout.lake)) {
        const m = /^date=(.+)$/.exec(entry);
        if (m && !(m[1]! in partitions)) fs.rmSync(path.join(layout.lake, entry), { recursive: true, force: true });
      }
    }

    // Quarantine: one JSON-lines file per source file, replaced atomically.
    const quarantineFile = (f: string) => path.join(layout.quarantine, `${f}.jsonl`);
    const rejectedFile = (f: string) => path.join(layout.quarantine, `${f}.rejected.json`);
    for (const f of plan.drop) fs.rmSync(quarantineFile(f), { force: true });
    for (const f of plan.parse) if (!(f in rejected)) fs.rmSync(rejectedFile(f), { force: true });
    for (const [f, r] of Object.entries(rejected))
      if (!(f in rejectedBefore)) writeJsonAtomic(rejectedFile(f), { file: f, ...r });
    for (const p of parsed) {
      if (p.quarantine.length > 0)
        writeFileAtomic(quarantineFile(p.file), p.quarantine.map((q) => JSON.stringify(q)).join('\n') + '\n');
    }

    const files: Record<string, ManifestFile> = {};
    for (const f of plan.unchanged) files[f] = manifest.files[f]!;
    for (const p of parsed) {
      files[p.file] = {
        sha256: hashes[p.file]!,
        bytes: p.bytes,
        encoding: p.encoding,
        rows_in: p.rowsIn,
        rows_out: p.rowsOut,
        quarantined: p.quarantine.length,
        duplicates: p.duplicates,
        partitions: Object.fromEntries([...p.dateCounts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
      };
    }
    const sortedPartitions = Object.fromEntries(
      Object.keys(partitions)
        .sort()
        .map((d) => [d, partitions[d]!]),
    );
    const next: IngestManifest = {
      version: 1,
      files: Object.fromEntries(
        Object.keys(files)
          .sort()
          .map((f) => [f, files[f]!]),
      ),
      partitions: sortedPartitions,
      content_hash: sha256(canonicalJson(sortedPartitions)),
      secret_fingerprint: fingerprint,
      ...(Object.keys(rejected).length > 0
        ? {
            rejected: Object.fromEntries(
              Object.keys(rejected)
                .sort()
                .map((f) => [f, rejected[f]!]),
            ),
          }
        : {}),
    };
    const kParams = params.k_anonymity ?? DEFAULT_K_ANONYMITY;
    const summary = summarise(parsed, plan.drop, next, kParams);
    writeJsonAtomic(
      layout.ingestManifest,
      parsed.length > 0
        ? { ...next, k_anonymity: summary.k_anonymity }
        : { ...next, ...(manifest.k_anonymity ? { k_anonymity: manifest.k_anonymity } : {}) },
    );

    for (const s of summary.k_anonymity.sets.filter((x) => !x.ok)) {
      log(
        `WARNING: k-anonymity ${s.k} over (${s.quasi_identifiers.join(', ')}) is below the minimum ${summary.k_anonymity.min_k}: ` +
          `${s.customers_below} of ${s.customers} customers are in ${s.groups_below} group(s) smaller than ${summary.k_anonymity.min_k}`,
      );
    }
    log(
      `rows in ${summary.rows_in}, out ${summary.rows_out}, quarantined ${summary.quarantined} ${JSON.stringify(summary.quarantine_reasons)}, ` +
        `customers ${summary.customer_keys}, k-anonymity ${summary.k_anonymity.sets.map((s) => `${s.k} (${s.quasi_identifiers.join('+')})`).join(', ')}, files rejected ${summary.files_rejected.length}, duplicates ${summary.duplicates}, null amounts ${summary.null_amounts}, ` +
        `dates ${summary.date_min}..${summary.date_max}, partitions written ${dates.length}`,
    );
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
    fs.rmSync(spillDir, { recursive: true, force: true });
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The run summary (also recorded in monitoring/runs.jsonl). */
export interface IngestSummary {
  readonly files_parsed: string[];
  readonly files_dropped: string[];
  readonly encodings: Record<string, string>;
  readonly rows_in: number;
  readonly rows_out: number;
  readonly quarantined: number;
  readonly quarantine_reasons: Record<string, number>;
  readonly duplicates: number;
  readonly null_amounts: number;
  readonly empty_merchant_city: number;
  readonly empty_merchant_country: number;
  readonly customer_keys: number;
  /** k per quasi-identifier set over the customers of the files parsed in this run, against the configured minimum. */
  readonly k_anonymity: KAnonymityReport;
  /** Files quarantined whole (wrong header, undecodable, no valid row), with the reason. */
  readonly files_rejected: { file: string; reason: string }[];
  readonly merchant_groups: Record<string, number>;
  readonly date_min: string | null;
  readonly date_max: string | null;
  readonly partitions_total: number;
  readonly content_hash: string;
}

function summarise(
  parsed: readonly ColumnarParsedFile[],
  dropped: readonly string[],
  manifest: IngestManifest,
  k: NonNullable<IngestParams['k_anonymity']>,
): IngestSummary {
  const reasons: Record<string, number> = {};
  const groups: Record<string, number> = {};
  const customers = new Map<string, QuasiIdentifiers>();
  let dateMin: string | null = null;
  let dateMax: string | null = null;
  for (const p of parsed) {
    for (const [r, n] of Object.entries(p.reasons)) reasons[r] = (reasons[r] ?? 0) + n;
    for (const [g, n] of Object.entries(p.merchantGroups)) groups[g] = (groups[g] ?? 0) + n;
    for (const [k, q] of p.customers) customers.set(k, q);
    for (const d of p.dateCounts.keys()) {
      if (dateMin === null || d < dateMin) dateMin = d;
      if (dateMax === null || d > dateMax) dateMax = d;
    }
  }
  const sum = (f: (p: ColumnarParsedFile) => number) => parsed.reduce((s, p) => s + f(p), 0);
  return {
    files_parsed: parsed.map((p) => p.file),
    files_dropped: [...dropped],
    encodings: Object.fromEntries(parsed.map((p) => [p.file, p.encoding])),
    rows_in: sum((p) => p.rowsIn),
    rows_out: sum((p) => p.rowsOut),
    quarantined: sum((p) => p.quarantine.length),
    quarantine_reasons: reasons,
    duplicates: sum((p) => p.duplicates),
    null_amounts: sum((p) => p.nullAmounts),
    empty_merchant_city: sum((p) => p.emptyMerchantCity),
    empty_merchant_country: sum((p) => p.emptyMerchantCountry),
    customer_keys: customers.size,
    k_anonymity: kAnonymityReport([...customers.values()], k.quasi_identifier_sets, k.min_k),
    files_rejected: Object.entries(manifest.rejected ?? {}).map(([file, r]) => ({ file, reason: r.reason })),
    merchant_groups: Object.fromEntries(Object.entries(groups).sort(([, a], [, b]) => b - a)),
    date_min: dateMin,
    date_max: dateMax,
    partitions_total: Object.keys(manifest.partitions).length,
    content_hash: manifest.content_hash,
  };
}

/** A fingerprint of the pseudonymisation secret (an HMAC of a fixed label under it): tells secrets apart, reveals nothing. */
export function secretFingerprint(secret: string): string {
  return crypto.createHmac('sha256', secret).update('bolsillo secret fingerprint v1').digest('hex').slice(0, 16);
}
