/**
 * What the build leaves behind: `master/<hash>/` (the table, its manifest and reports) written
 * atomically as a folder, then `master/latest.json`; or, when a gate stopped the build, the evidence
 * in `master/last-failure.json`.
 */
import path from 'node:path';
import {
  canonicalJson,
  parquetContinuation,
  sha256,
  tableFromColumns,
  writeContract,
  writeDirAtomic,
  writeFileAtomic,
  writeParquetBatches,
  type DataLayout,
} from '@bolsillo/core';
import {
  BuildFailureSchema,
  LeakageReportSchema,
  MasterLatestSchema,
  MasterManifestSchema,
  MasterRowSchema,
  ProfileSchema,
  QualityReportSchema,
  SelectionSchema,
  SplitSummarySchema,
  arrowSchemaFor,
  type MasterManifest,
} from '@bolsillo/schema';
import type { Table } from 'apache-arrow';
import { directlyConvertible, tableFromTypedColumns } from './arrow-chunks';
import type { BuildError, BuildReports } from './build';
import type { Frame } from './frame';
import { MASTER_COLUMNS } from './master';
import type { BuildParams } from './params';
import { qualityWarningsMessage } from './quality';
import { renderBuildReport } from './report';

/** Rows per Arrow chunk (and Parquet row group) of master.parquet: bounds the writer's memory. */
export const MASTER_CHUNK_ROWS = 131_072;

/**
 * Rows per file of the master table (about 1.4 GB at 56M snapshots): past it the table goes on in
 * `master.1.parquet`, `master.2.parquet`…, which the core readers read with master.parquet.
 * parquet-wasm, every stage's reader, is 32-bit and cannot open a file past 4 GiB.
 */
export const MASTER_FILE_ROWS = 64 * MASTER_CHUNK_ROWS;

/** The master table's file names in row order, for a table of `rows` rows split every `fileRows` (pure). */
export function masterFileNames(rows: number, fileRows: number): string[] {
  const count = Math.max(1, Math.ceil(rows / fileRows));
  return Array.from({ length: count }, (_, k) =>
    k === 0 ? 'master.parquet' : path.basename(parquetContinuation('master.parquet', k)),
  );
}

/** The master frame as Arrow tables of at most `rows` rows, with exactly the master schema. */
export function* masterChunks(master: Frame, rows: number): Generator<Table> {
  const schema = arrowSchemaFor(MasterRowSchema);
  const cols = schema.fields.map((f) => {
    const c = master.columns[f.name];
    if (!c) throw new Error(`master: column "${f.name}" missing`);
    return c;
  });
  // Typed columns become Arrow data directly; anything else (small test frames) goes cell by cell.
  const direct = schema.fields.every((f, c) => directlyConvertible(f, cols[c]!));
  for (let from = 0; from < master.length || (from === 0 && master.length === 0); from += rows) {
    const to = Math.min(master.length, from + rows);
    if (direct) {
      yield tableFromTypedColumns(schema, cols, from, to);
      if (master.length === 0) break;
      continue;
    }
    const chunk: Record<string, unknown[]> = {};
    schema.fields.forEach((f, c) => {
      const out: unknown[] = new Array(to - from);
      for (let i = from; i < to; i++) out[i - from] = cols[c]!.get(i);
      chunk[f.name] = out;
    });
    yield tableFromColumns(schema, chunk);
    if (master.length === 0) break;
  }
}

/** The master table's folder name (pure): a hash of its content, the params and the build's code. */
export function masterHash(contentHash: string, params: BuildParams, codeVersion: string): string {
  return sha256(canonicalJson({ content_hash: contentHash, params, code_version: codeVersion })).slice(0, 16);
}

/** What the manifest records besides the build output. */
export interface ManifestContext {
  readonly hash: string;
  readonly params: BuildParams;
  readonly paramsFile: string;
  readonly codeVersion: string;
  readonly asOf: string;
  readonly inputs: MasterManifest['inputs'];
  /** Rows per file of the master table ({@link MASTER_FILE_ROWS}). */
  readonly fileRows: number;
}

/** `master/<hash>/manifest.json` (pure): inputs, params, code version, target summary and the folder's files. */
export function masterManifest(out: BuildReports, ctx: ManifestContext, layout: DataLayout): MasterManifest {
  const { hash } = ctx;
  return {
    hash,
    content_hash: out.contentHash,
    rows: out.rows,
    columns: [...MASTER_COLUMNS],
    inputs: ctx.inputs,
    params: ctx.params,
    params_file: path.basename(ctx.paramsFile),
    code_version: ctx.codeVersion,
    freshness_as_of: ctx.asOf,
    target: out.target,
    model_features: out.selection.features,
    files: [
      ...masterFileNames(out.rows, ctx.fileRows),
      ...[
        layout.masterManifest,
        layout.masterSplits,
        layout.masterQuality,
        layout.masterProfile,
        layout.masterLeakage,
        layout.masterSelection,
        layout.masterReport,
      ].map((file) => path.basename(file(hash))),
    ],
  };
}

/**
 * Write `master/<hash>/` atomically: master.parquet and its continuations (`writeTable` writes them at
 * the path it is given), the manifest, the reports and report.md.
 */
export async function writeMasterFolder(
  layout: DataLayout,
  out: BuildReports,
  manifest: MasterManifest,
  writeTable: (file: string) => Promise<void>,
): Promise<string> {
  const hash = manifest.hash;
  const dir = layout.masterDir(hash);
  await writeDirAtomic(dir, async (_tmp, staged) => {
    await writeTable(staged(layout.masterTable(hash)));
    writeContract(staged(layout.masterManifest(hash)), MasterManifestSchema, manifest);
    writeContract(staged(layout.masterSplits(hash)), SplitSummarySchema, out.splits);
    writeContract(staged(layout.masterQuality(hash)), QualityReportSchema, out.quality);
    writeContract(staged(layout.masterProfile(hash)), ProfileSchema, out.profile);
    writeContract(staged(layout.masterLeakage(hash)), LeakageReportSchema, out.leakage);
    writeContract(staged(layout.masterSelection(hash)), SelectionSchema, out.selection);
    writeFileAtomic(staged(layout.masterReport(hash)), renderBuildReport(out, hash));
  });
  return dir;
}

/**
 * Write a master frame as master.parquet: chunks of {@link MASTER_CHUNK_ROWS} rows (one row group each),
 * `fileRows` rows a file.
 */
export async function writeMasterTable(file: string, master: Frame, fileRows = MASTER_FILE_ROWS): Promise<void> {
  await writeParquetBatches(file, masterChunks(master, MASTER_CHUNK_ROWS), { fileRows });
}

/** Point `master/latest.json` at a complete master folder. */
export function writeLatest(layout: DataLayout, hash: string): void {
  writeContract(layout.masterLatest, MasterLatestSchema, { hash });
}

/** Keep the evidence of a build a quality or leakage gate stopped where a person will look for it. */
export function writeBuildFailure(layout: DataLayout, error: BuildError): void {
  writeContract(layout.masterFailure, BuildFailureSchema, {
    message: error.message,
    quality: error.quality ?? null,
    leakage: error.leakage ?? null,
  });
}

/** The one-line account of a master table (pure). */
export function masterSummaryLine(out: BuildReports, hash: string): string {
  const t = out.target;
  return (
    `master ${hash}: ${out.rows} snapshots of ${t.customers} customers, ${t.positives} positive ` +
    `(${(100 * t.prevalence).toFixed(2)}%, ${t.positive_customers} customers; ${t.horizon_days}-day horizon), ` +
    `${t.censored} censored; flag: ${t.flag.flagged} of ${t.flag.rows} transactions; ` +
    `${out.selection.features.length} model features, ${qualityWarningsMessage(out.quality)}`
  );
}
