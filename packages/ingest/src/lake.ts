import { arrowSchemaFor, TransactionSchema, TRANSACTION_COLUMNS, type Transaction } from '@bolsillo/schema';
import type { PartitionPart } from './columnar-table';
import type { ColumnarBucket, ColumnarParsedFile } from './parse-fast';

/** What the manifest remembers about one source file. */
export interface ManifestFile {
  readonly sha256: string;
  readonly bytes: number;
  readonly encoding: string;
  readonly rows_in: number;
  readonly rows_out: number;
  readonly quarantined: number;
  readonly duplicates: number;
  /** Partitions (dates) the file's valid rows went to, with row counts. */
  readonly partitions: Readonly<Record<string, number>>;
}

/** A lake partition as the manifest records it. */
export interface PartitionRecord {
  readonly rows: number;
  /** sha256 of the Parquet bytes of `part-0.parquet`; for a sharded lake, over its parts' names and hashes. */
  readonly sha256: string;
  /** A sharded lake's part files of the date (`part-<i>.parquet`) with their rows and sha256. */
  readonly parts?: Readonly<Record<string, { readonly rows: number; readonly sha256: string }>>;
}

/**
 * `lake/manifest.json`: the source files ingested and the partitions they made. A shard keeps its own
 * (`lake/shards/<i>-of-<N>/manifest.json`: its customers' rows and parts only), which the merge combines.
 */
export interface IngestManifest {
  readonly version: 1;
  readonly files: Readonly<Record<string, ManifestFile>>;
  /** Every partition: rows and the sha256 of its Parquet bytes. */
  readonly partitions: Readonly<Record<string, PartitionRecord>>;
  /** sha256 over the partition hashes: same inputs → same content hash. */
  readonly content_hash: string;
  /** Fingerprint of the pseudonymisation secret the customer keys were made with (never the secret). */
  readonly secret_fingerprint?: string;
  /** Files quarantined whole, with their hash and reason (parsed again only when they change). */
  readonly rejected?: Readonly<Record<string, { readonly sha256: string; readonly reason: string }>>;
  /** k-anonymity of the last run that parsed files (see the ingest summary), for monitoring. */
  readonly k_anonymity?: unknown;
  /** Shards the lake was written by (absent: one process). */
  readonly shards?: number;
  /** A shard's manifest: customers per quasi-identifier combination, per set (what the merge adds up). */
  readonly k_anonymity_groups?: readonly Readonly<Record<string, number>>[];
}

/** An empty manifest (first run). */
export const EMPTY_MANIFEST: IngestManifest = { version: 1, files: {}, partitions: {}, content_hash: '' };

/** What a run has to do, given the source files present now and the manifest. */
export interface IngestPlan {
  /** Files to parse (new or changed). */
  readonly parse: readonly string[];
  /** Files whose rows leave the lake (changed or removed). */
  readonly drop: readonly string[];
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
}

/**
 * Decide what to ingest: new and changed files are parsed, changed and removed ones have their old rows
 * dropped; `backfill` treats every file as new and rebuilds the lake. Pure.
 */
export function planIngest(
  current: Readonly<Record<string, string>>,
  manifest: IngestManifest,
  backfill: boolean,
): IngestPlan {
  const names = Object.keys(current).sort();
  if (backfill)
    return {
      parse: names,
      drop: Object.keys(manifest.files).sort(),
      unchanged: [],
      removed: Object.keys(manifest.files)
        .filter((f) => !(f in current))
        .sort(),
    };
  const parse = names.filter((f) => manifest.files[f]?.sha256 !== current[f]);
  const removed = Object.keys(manifest.files)
    .filter((f) => !(f in current))
    .sort();
  const drop = [...parse.filter((f) => f in manifest.files), ...removed].sort();
  return { parse, drop, unchanged: names.filter((f) => !parse.includes(f)), removed };
}

/** Partitions a plan rewrites: every date the dropped files touched and every date the parsed files touch. */
export function affectedDates(
  plan: IngestPlan,
  manifest: IngestManifest,
  parsed: readonly { readonly dateCounts: ReadonlyMap<string, number> }[],
): string[] {
  const dates = new Set<string>();
  for (const f of plan.drop) for (const d of Object.keys(manifest.files[f]?.partitions ?? {})) dates.add(d);
  for (const p of parsed) for (const d of p.dateCounts.keys()) dates.add(d);
  return [...dates].sort();
}

/**
 * The rows of one partition after the run: the existing rows of files that stay, plus the new rows of
 * the parsed files (`parts`, see {@link SpillStore.partitionParts}), ordered by (source_file, source_line) so the content is the same however the lake
 * was built (incrementally or by backfill). Pure; returns columns ready for the Arrow schema.
 */
export function mergePartition(
  date: string,
  existing: readonly Transaction[],
  dropFiles: ReadonlySet<string>,
  parts: readonly PartitionPart[],
): Record<string, unknown[]> {
  const cols: Record<string, unknown[]> = Object.fromEntries(TRANSACTION_COLUMNS.map((c) => [c, []]));
  const push = (row: Transaction) => {
    for (const c of TRANSACTION_COLUMNS) cols[c]!.push(row[c]);
  };
  for (const row of existing) if (!dropFiles.has(row.source_file)) push(row);
  for (const { parsed, bucket } of parts) appendBucket(cols, bucket, parsed, date);
  const files = cols.source_file as string[];
  const lines = cols.source_line as number[];
  const n = lines.length;
  const before = (a: number, b: number) =>
    files[a]! < files[b]! ? -1 : files[a]! > files[b]! ? 1 : lines[a]! - lines[b]!;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (before(i - 1, i) > 0) sorted = false;
  if (sorted) return cols;
  const order = Array.from({ length: n }, (_, i) => i).sort(before);
  for (const c of TRANSACTION_COLUMNS) {
    const v = cols[c]!;
    cols[c] = order.map((i) => v[i]);
  }
  return cols;
}

/** The full Transaction columns of one date bucket (used to spill it). */
export function bucketColumns(b: ColumnarBucket, parsed: ColumnarParsedFile, date: string): Record<string, unknown[]> {
  const cols: Record<string, unknown[]> = Object.fromEntries(TRANSACTION_COLUMNS.map((c) => [c, []]));
  appendBucket(cols, b, parsed, date);
  return cols;
}

// Column-wise append: no per-row objects on the hot path.
function appendBucket(
  cols: Record<string, unknown[]>,
  b: ColumnarBucket,
  parsed: ColumnarParsedFile,
  date: string,
): void {
  const n = b.length;
  const file = parsed.file;
  for (const c of TRANSACTION_COLUMNS) {
    const out = cols[c]!;
    switch (c) {
      case 'txn_id':
        for (let i = 0; i < n; i++) out.push(`${file}#${b.source_line[i]!}`);
        break;
      case 'date':
        for (let i = 0; i < n; i++) out.push(date);
        break;
      case 'source_file':
        for (let i = 0; i < n; i++) out.push(file);
        break;
      case 'customer_key':
      case 'account_cohort':
      case 'city':
      case 'state':
      case 'age':
      case 'sex':
        for (let i = 0; i < n; i++) out.push(parsed.identities[b.identity[i]!]![c]);
        break;
      case 'merchant_group':
      case 'merchant_city':
      case 'merchant_country':
        for (let i = 0; i < n; i++) out.push(parsed.merchants[b.merchant[i]!]![c]);
        break;
      case 'amount':
        for (let i = 0; i < n; i++) out.push(Number.isNaN(b.amount[i]!) ? null : b.amount[i]!);
        break;
      case 'credit_limit':
      case 'available_limit':
      case 'source_line':
        for (let i = 0; i < n; i++) out.push(b[c][i]!);
        break;
      default:
        throw new Error(`appendBucket: no source for column "${String(c)}"`);
    }
  }
}

/** The Arrow schema of the raw zone, derived from the shared Transaction schema. */
export const LAKE_SCHEMA = arrowSchemaFor(TransactionSchema);
