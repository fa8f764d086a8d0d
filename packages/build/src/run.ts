import fs from 'node:fs';
import path from 'node:path';
import {
  canonicalJson,
  dataLayout,
  listPartitions,
  loadParams,
  packageFile,
  normaliseGroup,
  parquetToTable,
  readContract,
  readParquetRowCount,
  sha256,
  tableFromColumns,
  writeDirAtomic,
  writeContract,
  writeFileAtomic,
  writeParquetBatches,
  type FeatureParams,
  type StageResult,
} from '@bolsillo/core';
import {
  BuildFailureSchema,
  FeatureStoreManifestSchema,
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
import { directlyConvertible, tableFromTypedColumns } from './arrow-chunks';
import { buildMaster, BuildError } from './build';
import { FrameBuilder, type Frame } from './frame';
import type { Table } from 'apache-arrow';
import crypto from 'node:crypto';
import { BuildParamsSchema, type BuildParams } from './params';
import { qualityWarningsMessage } from './quality';
import { renderBuildReport } from './report';

/** Rows per Arrow chunk (and Parquet row group) of master.parquet: bounds the writer's memory. */
const MASTER_CHUNK_ROWS = 131_072;

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

/** Resident set and its parts, for the progress log: memory is what bounds the build at scale. */
function memory(): string {
  const m = process.memoryUsage();
  const mb = (x: number) => `${Math.round(x / 1e6)}`;
  return `rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, array buffers ${mb(m.arrayBuffers)} MB`;
}

/** Default params file of the stage. */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');

/** Options of {@link runBuild}. */
export interface RunBuildOptions {
  readonly dataDir: string;
  readonly paramsFile?: string;
  /** Freshness reference date; default: params `quality.freshness.as_of`, else today (UTC). */
  readonly asOf?: string;
  readonly log?: (message: string) => void;
}

/** The build stage's source hash, recorded in the manifest as `code_version` (train's code version is the git commit instead). */
export function buildSourceHash(): string {
  const dir = __dirname;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .sort();
  return sha256(files.map((f) => `${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`).join('\n')).slice(0, 16);
}

/**
 * The flag must mean one thing everywhere: the history features count flagged transactions with the
 * features stage's params, and the API answers the flag with them, so they must equal the build's rule.
 */
export function checkFlagRule(rule: BuildParams['target'], features: FeatureParams | undefined): void {
  if (features === undefined) return;
  const norm = (groups: readonly string[]) => JSON.stringify([...new Set(groups.map(normaliseGroup))].sort());
  if (features.revengeThreshold !== rule.threshold || norm(features.essentialGroups) !== norm(rule.essential_groups)) {
    throw new Error(
      `the flag rule differs between packages/build/params.json (target.threshold ${rule.threshold}, essential_groups ${rule.essential_groups.join(', ')}) ` +
        `and the feature store's params (revengeThreshold ${features.revengeThreshold}, essentialGroups ${features.essentialGroups.join(', ')}): make them equal and re-run features`,
    );
  }
}

/**
 * The build stage's I/O adapter: read the offline feature store, run {@link buildMaster}, write
 * `master/<hash>/` atomically and then `master/latest.json`.
 */
export async function runBuild(options: RunBuildOptions): Promise<StageResult & { hash: string; dir: string }> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  const paramsFile = options.paramsFile ?? DEFAULT_PARAMS_FILE;
  const params: BuildParams = loadParams(paramsFile, BuildParamsSchema);
  const partitions = listPartitions(layout.featureStore);
  if (partitions.length === 0)
    throw new Error(`no feature-store partitions under ${layout.featureStore} (run the features stage first)`);
  checkFlagRule(params.target, readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params);
  // One pass per file: the bytes are hashed and decoded from the same read, and each partition is
  // converted to typed columns at once, so only one partition is ever held as Arrow data.
  // Columns are sized once from the Parquet footers, then filled in place (no growing copies).
  // Transaction ids are unique: kept as raw UTF-8, not interned (no JS string per row).
  let capacity = 0;
  for (const p of partitions) for (const file of p.files) capacity += await readParquetRowCount(file);
  const builder = new FrameBuilder({ rawStrings: ['txn_id'], capacity });
  const inputs: { date: string; file: string; sha256: string; rows: number }[] = [];
  for (const p of partitions) {
    for (const file of p.files) {
      const bytes = fs.readFileSync(file);
      const table = parquetToTable(bytes);
      builder.append(table);
      inputs.push({
        date: p.date,
        file: path.relative(layout.root, file),
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
        rows: table.numRows,
      });
    }
  }
  const input: Frame = builder.finish();
  log(`read ${input.length} feature rows from ${partitions.length} partitions (${memory()})`);
  const asOf = options.asOf ?? params.quality.freshness.as_of ?? new Date().toISOString().slice(0, 10);
  let out;
  try {
    out = buildMaster(input, params, { asOf, onStep: (step) => log(`${step} (${memory()})`) });
  } catch (error) {
    if (error instanceof BuildError && (error.quality || error.leakage)) {
      // Keep the evidence of a failed build where a person will look for it.
      writeContract(layout.masterFailure, BuildFailureSchema, {
        message: error.message,
        quality: error.quality ?? null,
        leakage: error.leakage ?? null,
      });
    }
    throw error;
  }
  const code = buildSourceHash();
  const hash = sha256(canonicalJson({ content_hash: out.contentHash, params, code_version: code })).slice(0, 16);
  const manifest: MasterManifest = {
    hash,
    content_hash: out.contentHash,
    rows: out.master.length,
    columns: Object.keys(out.master.columns),
    inputs,
    params,
    params_file: path.basename(paramsFile),
    code_version: code,
    freshness_as_of: asOf,
    target: out.target,
    model_features: out.selection.features,
    files: [
      layout.masterTable,
      layout.masterManifest,
      layout.masterSplits,
      layout.masterQuality,
      layout.masterProfile,
      layout.masterLeakage,
      layout.masterSelection,
      layout.masterReport,
    ].map((file) => path.basename(file(hash))),
  };
  const dir = layout.masterDir(hash);
  await writeDirAtomic(dir, async (_tmp, staged) => {
    await writeParquetBatches(staged(layout.masterTable(hash)), masterChunks(out.master, MASTER_CHUNK_ROWS));
    writeContract(staged(layout.masterManifest(hash)), MasterManifestSchema, manifest);
    writeContract(staged(layout.masterSplits(hash)), SplitSummarySchema, out.splits);
    writeContract(staged(layout.masterQuality(hash)), QualityReportSchema, out.quality);
    writeContract(staged(layout.masterProfile(hash)), ProfileSchema, out.profile);
    writeContract(staged(layout.masterLeakage(hash)), LeakageReportSchema, out.leakage);
    writeContract(staged(layout.masterSelection(hash)), SelectionSchema, out.selection);
    writeFileAtomic(staged(layout.masterReport(hash)), renderBuildReport(out, hash));
  });
  log(`wrote master.parquet and reports (${memory()})`);
  writeContract(layout.masterLatest, MasterLatestSchema, { hash });
  log(
    `master ${hash}: ${out.master.length} snapshots of ${out.target.customers} customers, ${out.target.positives} positive ` +
      `(${(100 * out.target.prevalence).toFixed(2)}%, ${out.target.positive_customers} customers; ${out.target.horizon_days}-day horizon), ` +
      `${out.target.censored} censored; flag: ${out.target.flag.flagged} of ${out.target.flag.rows} transactions; ` +
      `${out.selection.features.length} model features, ${qualityWarningsMessage(out.quality)}`,
  );
  return {
    rowsIn: out.target.rows_in,
    rowsOut: out.master.length,
    hash,
    dir,
    summary: {
      hash,
      positives: out.target.positives,
      censored: out.target.censored,
      flagged: out.target.flag.flagged,
      features: out.selection.features.length,
      warnings: out.quality.failed_warnings,
    },
  };
}
