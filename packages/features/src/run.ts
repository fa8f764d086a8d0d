import fs from 'node:fs';
import path from 'node:path';
import {
  ONLINE_STORE_FILE,
  canonicalJson,
  cleanTemporaries,
  CustomerHistory,
  FeatureColumns,
  createProgress,
  dataLayout,
  listPartitions,
  partitionDir,
  readJson,
  readOnlineStore,
  sha256,
  writeFileAtomic,
  writeJsonAtomic,
  type CustomerState,
  type DatePartition,
  type FeatureParams,
  type OnlineStoreSnapshot,
} from '@bolsillo/core';
import { FEATURE_DECLARATIONS, FeatureRowSchema, arrowSchemaFor } from '@bolsillo/schema';
import type { Table } from 'apache-arrow';
import { FeatureWriterPool, threadCpuSeconds, type ParquetCompression } from './parquet-worker';
import type { TxnColumns } from './txn-columns';
import {
  computeColumnarBatch,
  foldColumnarStates,
  planIncremental,
  type CustomerStates,
  type FeatureStoreManifest,
} from './pipeline';

/** Options of {@link runFeatures}. */
export interface RunFeaturesOptions {
  readonly dataDir: string;
  readonly params: FeatureParams;
  /** Ignore the manifest and recompute every partition. */
  readonly full?: boolean;
  /** Codec of the written partitions (default `snappy`); not part of the config hash, the content is the same. */
  readonly compression?: ParquetCompression;
  readonly log?: (message: string) => void;
  /** Clock for the manifest's `updated_at` (injected so tests can pin it). */
  readonly now?: () => Date;
}

/** What a features run did. */
export interface RunFeaturesResult {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly partitionsIn: number;
  readonly partitionsWritten: number;
  readonly partitionsRemoved: number;
  readonly customers: number;
  readonly from: string | null;
  readonly reason: string;
  /**
   * CPU seconds by thread (Linux only, else absent): the main thread (kernel) and each Parquet
   * thread (decode + interning, table build + encode + write), for benchmarks.
   */
  readonly threadCpuSeconds?: { readonly main: number; readonly parquet: readonly number[] };
}

const FEATURE_ARROW_SCHEMA = arrowSchemaFor(FeatureRowSchema);

/** Hash identifying the configuration: params plus the feature declarations (any change recomputes all). */
export function configHash(params: FeatureParams): string {
  return sha256(canonicalJson({ params, declarations: FEATURE_DECLARATIONS }));
}

/** Partitions decoded ahead of the one being computed, and encoded partitions allowed in flight. */
const READ_AHEAD = 3;
const WRITE_BEHIND = 3;
/** Parquet threads: with the main thread's kernel, two keep both cores of the target machine busy. */
const PARQUET_THREADS = 2;

function partitionHash(
  p: DatePartition,
  fileSha256: readonly string[] = p.files.map((f) => sha256(fs.readFileSync(f))),
): string {
  return sha256(p.files.map((f, i) => `${path.basename(f)}:${fileSha256[i]}`).join('\n'));
}

/** The online store file's text: every customer's state after its latest transaction, keys sorted. */
function onlineStoreText(states: CustomerStates, params: FeatureParams, asOf: string): string {
  const customers: Record<string, CustomerState> = {};
  for (const key of [...states.keys()].sort()) customers[key] = states.get(key)!.toState();
  const store: OnlineStoreSnapshot = { params, as_of: asOf, customers };
  // Compact JSON: the API loads this at start-up and it grows with the number of customers.
  return `${JSON.stringify(store)}\n`;
}

/** Manifest path of the offline store. */
export function featureManifestPath(dataDir: string): string {
  return dataLayout(dataDir).featureManifest;
}

/**
 * The features stage's I/O adapter: read the lake's date partitions, recompute the feature
 * partitions whose inputs (or history) changed, write them atomically, then the online store and
 * finally the manifest (so a crash mid-run leaves the old manifest and the next run redoes the work).
 */
export async function runFeatures(options: RunFeaturesOptions): Promise<RunFeaturesResult> {
  try {
    return await computeFeatures(options);
  } catch (error) {
    // A partition that failed to decode may be corrupt: name it rather than the decoder's complaint.
    const layout = dataLayout(options.dataDir);
    const lake = listPartitions(layout.lake);
    refuseCorrupt(layout, lake, Object.fromEntries(lake.map((p) => [p.date, partitionHash(p)])));
    throw error;
  }
}

async function computeFeatures(options: RunFeaturesOptions): Promise<RunFeaturesResult> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const params = options.params;
  // Leftovers of a writer killed mid-rename; the manifest is only written after all partitions, so nothing is lost.
  cleanTemporaries(path.dirname(layout.featureStore));
  const lake = listPartitions(layout.lake);
  if (lake.length === 0) throw new Error(`no lake partitions under ${layout.lake} (run ingest first)`);
  const manifestFile = featureManifestPath(options.dataDir);
  const previous = options.full || !fs.existsSync(manifestFile) ? null : readJson<FeatureStoreManifest>(manifestFile);
  const hash = configHash(params);
  // Without a previous run (or with other params) every partition is recomputed whatever its hash:
  // the Parquet threads then hash the lake files from the bytes they read for the run, in parallel
  // with it, instead of the main thread reading all of them once more before the run starts. The
  // plan only looks at the dates then; the hashes are filled in as the partitions are read.
  const hashWhileReading = previous === null || previous.config_hash !== hash;
  const inputs: Record<string, string> = Object.fromEntries(
    lake.map((p) => [p.date, hashWhileReading ? '' : partitionHash(p)]),
  );
  const onlineFile = path.join(layout.onlineStore, ONLINE_STORE_FILE);
  const online = options.full ? null : readOnlineStore(onlineFile);
  const existing = new Set(
    listPartitions(layout.featureStore)
      .filter((p) => p.files.length > 0)
      .map((p) => p.date),
  );
  // A lake partition whose bytes differ from what ingest recorded is corrupt: refuse it before reading it.
  if (!hashWhileReading) refuseCorrupt(layout, lake, inputs);
  let plan = planIncremental(previous, inputs, hash, existing);
  if (plan.from === null && (plan.removed.length > 0 || !online)) {
    // The online store must reflect the current lake even when no feature partition changes.
    plan = { ...plan, reason: `${plan.reason}; online store rebuilt` };
  } else if (plan.from === null) {
    log(`nothing to do: ${plan.reason}`);
    return {
      rowsIn: 0,
      rowsOut: 0,
      partitionsIn: lake.length,
      partitionsWritten: 0,
      partitionsRemoved: 0,
      customers: Object.keys(online!.customers).length,
      from: null,
      reason: plan.reason,
    };
  }
  log(`plan: ${plan.reason}${plan.from ? `; recompute from ${plan.from}` : ''}`);

  for (const date of plan.removed) fs.rmSync(partitionDir(layout.featureStore, date), { recursive: true, force: true });

  // States just before `from`: resume from the online store on a pure append, else replay history.
  const states: CustomerStates = new Map();
  const from = plan.from;
  const resumable =
    from !== null &&
    online !== null &&
    previous !== null &&
    plan.removed.length === 0 &&
    online.as_of < from &&
    canonicalJson(online.params) === canonicalJson(params);
  let rowsIn = 0;
  const replay = resumable ? [] : lake.filter((p) => from === null || p.date < from);
  const todo = from === null ? [] : lake.filter((p) => p.date >= from);
  let rowsOut = 0;
  let threads: RunFeaturesResult['threadCpuSeconds'];
  let onlineText = '';
  // Parquet decoding runs ahead on the worker threads (a few partitions), encoding and writing run
  // behind; the main thread only turns Arrow columns into features. Bounded queues keep memory flat.
  const io = new FeatureWriterPool(PARQUET_THREADS, options.compression ?? 'snappy');
  try {
    // A partition with several files is one batch (history order is sorted across its files): one
    // thread decodes them all and interns their strings, the main thread only runs the kernel.
    const reads = [...replay, ...todo];
    const prefetched: Promise<TxnColumns>[] = [];
    let nextRead = 0;
    const readPartition = (): Promise<TxnColumns> => {
      while (prefetched.length < READ_AHEAD && nextRead < reads.length) {
        const p = reads[nextRead++]!;
        const pending = io.readColumnsHashed(p.files, hashWhileReading).then(({ cols, fileSha256 }) => {
          if (fileSha256 !== null) inputs[p.date] = partitionHash(p, fileSha256);
          return cols;
        });
        pending.catch(() => undefined); // surfaced when awaited
        prefetched.push(pending);
      }
      return prefetched.shift()!;
    };

    if (resumable) {
      for (const [key, s] of Object.entries(online.customers)) states.set(key, CustomerHistory.fromState(s));
      log(`resumed ${states.size} customer states from the online store as of ${online.as_of}`);
    } else {
      for (let k = 0; k < replay.length; k++) {
        const cols = await readPartition();
        rowsIn += cols.length;
        foldColumnarStates(cols, states, params);
      }
    }

    const progress = createProgress('write', { total: todo.length, unit: 'partitions', write: log });
    const writes: Promise<void>[] = [];
    for (const p of todo) {
      const cols = await readPartition();
      rowsIn += cols.length;
      // The sink's arrays come back from the thread that wrote an earlier partition; new ones get
      // some slack so that later, slightly larger partitions fit too.
      const recycled =
        io.spareSink(cols.length) ?? new FeatureColumns(Math.ceil(cols.length * 1.25), { categoryCodes: true });
      const batch = computeColumnarBatch(cols, states, params, { categoryCodes: true, recycled });
      const written = io.writeFeatures(
        path.join(partitionDir(layout.featureStore, p.date), 'part-0.parquet'),
        cols,
        batch,
      );
      written.catch(() => undefined); // surfaced when awaited below
      writes.push(written);
      if (writes.length >= WRITE_BEHIND) await writes.shift();
      rowsOut += cols.length;
      progress.tick(1, `${rowsOut} rows`);
    }
    // The histories are final once the last batch is computed: serialise the online store while the
    // threads still encode and write the last partitions (the file is written only after they succeed).
    onlineText = onlineStoreText(states, params, lake[lake.length - 1]!.date);
    await Promise.all(writes);
    if (todo.length > 0) progress.done(`${rowsOut} rows`);
    // Where the time went, thread by thread (the process's CPU time is the sum over all of them).
    const workers = await io.cpuSeconds();
    const main = threadCpuSeconds();
    if (main !== null && workers.every((w) => w !== null)) {
      threads = { main, parquet: workers as number[] };
      log(
        `CPU s by thread: main ${main.toFixed(1)}, parquet threads ${threads.parquet.map((w) => w.toFixed(1)).join(' + ')}`,
      );
    }
  } finally {
    await io.close();
  }

  const asOf = lake[lake.length - 1]!.date;
  // Hashed while read: checked before the online store and the manifest are written, so the next run redoes the work.
  if (hashWhileReading) refuseCorrupt(layout, lake, inputs);
  writeFileAtomic(onlineFile, onlineText);
  const unhashed = Object.keys(inputs).filter((d) => inputs[d] === '');
  if (unhashed.length > 0)
    throw new Error(`features: lake partitions left unhashed (${unhashed.join(', ')}); the manifest is not written`);
  const manifest: FeatureStoreManifest = {
    version: 1,
    config_hash: hash,
    params,
    inputs,
    as_of: asOf,
    updated_at: (options.now ?? (() => new Date()))().toISOString(),
  };
  writeJsonAtomic(manifestFile, manifest);
  return {
    rowsIn,
    rowsOut,
    partitionsIn: lake.length,
    partitionsWritten: todo.length,
    partitionsRemoved: plan.removed.length,
    customers: states.size,
    from,
    reason: plan.reason,
    ...(threads ? { threadCpuSeconds: threads } : {}),
  };
}

/** Arrow schema of a feature-store partition. */
export function featureArrowSchema(): Table['schema'] {
  return FEATURE_ARROW_SCHEMA;
}

/**
 * Throw when a lake partition's bytes are not the ones ingest wrote (its sha256 in lake/manifest.json):
 * a flipped byte can decode to plausible values (one more customer) instead of failing.
 */
function refuseCorrupt(
  layout: ReturnType<typeof dataLayout>,
  lake: readonly DatePartition[],
  inputs: Readonly<Record<string, string>>,
): void {
  const recorded = readJson<{ partitions?: Record<string, { sha256: string }> } | null>(
    layout.ingestManifest,
    null,
  )?.partitions;
  if (!recorded) return;
  const corrupt = lake.filter((p) => {
    const r = recorded[p.date];
    if (!r || p.files.length !== 1 || !inputs[p.date]) return false;
    return inputs[p.date] !== sha256(`${path.basename(p.files[0]!)}:${r.sha256}`);
  });
  if (corrupt.length > 0) {
    throw new Error(
      `lake partition(s) ${corrupt.map((p) => p.files[0]).join(', ')} do not match the sha256 ingest recorded in ${layout.ingestManifest} ` +
        '(corrupt, or changed outside ingest); nothing was written to the online store or the manifest. Rebuild the lake: ingest --backfill.',
    );
  }
}
