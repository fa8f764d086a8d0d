/**
 * The I/O adapter of the build stage: read the offline feature store, run the pure
 * {@link buildMaster}, write `master/<hash>/` atomically and then `master/latest.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanTemporaries,
  dataLayout,
  loadParams,
  memoryNote,
  normaliseGroup,
  packageFile,
  readContract,
  sha256,
  type DataLayout,
  type FeatureParams,
  type StageResult,
} from '@bolsillo/core';
import { FeatureStoreManifestSchema, type MasterManifest } from '@bolsillo/schema';
import { buildMaster, BuildError, type BuildReports } from './build';
import {
  MASTER_FILE_ROWS,
  masterHash,
  masterManifest,
  masterSummaryLine,
  writeBuildFailure,
  writeLatest,
  writeMasterFolder,
  writeMasterTable,
} from './build-outputs';
import { BuildParamsSchema, type BuildParams } from './params';
import { featureStorePartitions, readFeatureStore } from './read-feature-store';

/** Default params file of the stage. */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');

/** Options of {@link runBuild}. */
export interface RunBuildOptions {
  readonly dataDir: string;
  readonly paramsFile?: string;
  /** Freshness reference date; default: params `quality.freshness.as_of`, else today (UTC). */
  readonly asOf?: string;
  readonly log?: (message: string) => void;
  /** Rows per file of the master table; default {@link MASTER_FILE_ROWS}. */
  readonly masterFileRows?: number;
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
 * Remove what a build killed mid-write left under `master/` (a `.<hash>.tmp-…` folder, a
 * `.latest.json.tmp-…` file, a shard's staging folder). For a whole build and the merge, at their
 * start: no shard writes then. What `latest.json` names is complete, so nothing is lost.
 */
export function cleanMasterTemporaries(layout: DataLayout): number {
  return cleanTemporaries(layout.master);
}

/**
 * The build stage's I/O adapter: read the offline feature store, run {@link buildMaster}, write
 * `master/<hash>/` atomically and then `master/latest.json`.
 */
export async function runBuild(options: RunBuildOptions): Promise<StageResult & { hash: string; dir: string }> {
  const log = options.log ?? (() => undefined);
  const layout = dataLayout(options.dataDir);
  cleanMasterTemporaries(layout);
  const paramsFile = options.paramsFile ?? DEFAULT_PARAMS_FILE;
  const params: BuildParams = loadParams(paramsFile, BuildParamsSchema);
  const partitions = featureStorePartitions(layout);
  checkFlagRule(params.target, readContract(layout.featureManifest, FeatureStoreManifestSchema, null)?.params);
  const store = await readFeatureStore(layout, partitions);
  log(`read ${store.frame.length} feature rows from ${store.partitions} partitions (${memoryNote()})`);
  const asOf = options.asOf ?? params.quality.freshness.as_of ?? new Date().toISOString().slice(0, 10);
  let out;
  try {
    out = buildMaster(store.frame, params, { asOf, onStep: (step) => log(`${step} (${memoryNote()})`) });
  } catch (error) {
    if (error instanceof BuildError && (error.quality || error.leakage)) writeBuildFailure(layout, error);
    throw error;
  }
  const master = out.master;
  const fileRows = options.masterFileRows ?? MASTER_FILE_ROWS;
  return writeBuild(out, { layout, params, paramsFile, asOf, inputs: store.inputs, log, fileRows }, (file) =>
    writeMasterTable(file, master, fileRows),
  );
}

/** What {@link writeBuild} records besides the build's output. */
export interface WriteBuildContext {
  readonly layout: DataLayout;
  readonly params: BuildParams;
  readonly paramsFile: string;
  readonly asOf: string;
  readonly inputs: MasterManifest['inputs'];
  readonly log: (message: string) => void;
  /** Rows per file of the master table. */
  readonly fileRows: number;
}

/**
 * Write a build's `master/<hash>/` folder (master.parquet and its continuations by `writeTable`, given
 * the path in the folder being written), then `master/latest.json`; the stage's result.
 */
export async function writeBuild(
  out: BuildReports,
  ctx: WriteBuildContext,
  writeTable: (file: string) => Promise<void>,
): Promise<StageResult & { hash: string; dir: string }> {
  const { layout, params, paramsFile, asOf, log } = ctx;
  const codeVersion = buildSourceHash();
  const hash = masterHash(out.contentHash, params, codeVersion);
  const manifest = masterManifest(
    out,
    { hash, params, paramsFile, codeVersion, asOf, inputs: ctx.inputs, fileRows: ctx.fileRows },
    layout,
  );
  const dir = await writeMasterFolder(layout, out, manifest, writeTable);
  log(`wrote master.parquet and reports (${memoryNote()})`);
  writeLatest(layout, hash);
  log(masterSummaryLine(out, hash));
  return {
    rowsIn: out.target.rows_in,
    rowsOut: out.rows,
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
