/**
 * Evaluate's scoring in shards. Scoring every evaluation row with every contender is the stage's
 * per-row work; shard i of N scores the rows of the customers hashing to i and stages, per row, its
 * split, its position in the master table, its label and each contender's score. The merge puts the
 * scores back in master-table order and runs the rest of the stage as one process does.
 *
 * Why scores and not histograms: the stage's intervals resample customers (cluster bootstrap), the
 * threshold is chosen over the exact scores and PR-AUC needs every tie resolved as one process resolves
 * it; merged score histograms would make AUC exact only up to the bin width and the bootstrap
 * impossible. The evaluation rows' scores (8 bytes a row and contender) are what one process holds too.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  canonicalJson,
  forEachParquetBatch,
  readJson,
  readParquetFile,
  sha256,
  shardOf,
  shardTag,
  tableFromColumns,
  writeDirAtomic,
  writeJsonAtomic,
  writeParquetFile,
  type DataLayout,
  type StageResult,
} from '@bolsillo/core';
import { FEATURE_NAMES, TARGET } from '@bolsillo/schema';
import { Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import type { BootstrapWorker } from './bootstrap-worker';
import {
  cleanReportTemporaries,
  finishEvaluation,
  openEvaluation,
  startBootstrapWorker,
  type OpenEvaluation,
  type RunEvaluateOptions,
  type RunEvaluateResult,
} from './run';
import { BatchColumns, SPLIT_CODE, splitCodes, truthyCodes } from './batch-columns';
import { Growable, SCORED, scoreMaster, type Scored, type ScoredMaster } from './score-master';

/** Rows per batch of the master stream (as one process reads it). */
const BATCH_ROWS = 32_768;

/** What a shard hands to the merge besides its scores. */
interface ShardMeta {
  readonly version: 1;
  readonly shard: { readonly index: number; readonly count: number };
  /** The candidate, the master table and the contenders scored, and the params: the merge refuses a mix. */
  readonly run: string;
  readonly candidate: string;
  readonly contenders: readonly string[];
  readonly rows: number;
}

/** Shard i of N's staged scores: `reports/.shards/<i>-of-<N>/` (a dot folder: never served under /reports). */
export function evaluateShardDir(layout: DataLayout, index: number, count: number): string {
  return path.join(layout.evaluateShards, shardTag(index, count));
}

/**
 * Shard i of N of evaluate: the calibration, test and holdout rows of the customers hashing to i, scored
 * by every contender, staged with each row's split and position in the master table. Nothing else is
 * written (no report, no decision, no alias moves).
 */
export async function runEvaluateShard(
  opts: RunEvaluateOptions & { readonly index: number; readonly count: number },
): Promise<StageResult> {
  const run = await openEvaluation(opts);
  const { index, count } = opts;
  const ids = run.models.map((m) => m.id);
  const cols: Record<string, unknown[]> = { split: [], row: [], label: [] };
  ids.forEach((_, k) => (cols[`s${k}`] = []));
  let total = 0;
  const codes: Record<Scored, number> = {
    calibration: SPLIT_CODE.calibration,
    test: SPLIT_CODE.test,
    holdout: SPLIT_CODE.holdout,
  };
  await forEachParquetBatch(run.master.file, { columns: columnsOf(run), batchSize: BATCH_ROWS }, (table, offset) => {
    const batch = new BatchColumns(table);
    total += batch.length;
    const split = splitCodes(batch.vector('split'));
    const target = truthyCodes(batch.vector(TARGET), batch.length);
    for (const s of SCORED) {
      const at: number[] = [];
      for (let i = 0; i < batch.length; i++)
        if (split[i] === codes[s] && shardOf(String(batch.value(run.master.groupColumn, i)), count) === index)
          at.push(i);
      if (at.length === 0) continue;
      for (const i of at) {
        cols.split!.push(s);
        cols.row!.push(offset + i);
        cols.label!.push(target[i]!);
      }
      const part = batch.columnBatch(Uint32Array.from(at));
      run.models.forEach((m, k) => {
        const out = cols[`s${k}`]!;
        for (const v of m.model.predictColumns(part)) out.push(v);
      });
    }
  });
  const schema = new Schema([
    new Field('split', new Utf8(), false),
    new Field('row', new Int32(), false),
    new Field('label', new Int32(), false),
    ...ids.map((_, k) => new Field(`s${k}`, new Float64(), false)),
  ]);
  const meta: ShardMeta = {
    version: 1,
    shard: { index, count },
    run: runKey(run, total),
    candidate: run.card.version,
    contenders: ids,
    rows: cols.row!.length,
  };
  await writeDirAtomic(evaluateShardDir(run.layout, index, count), (tmp) => {
    writeParquetFile(path.join(tmp, 'scores.parquet'), tableFromColumns(schema, cols));
    writeJsonAtomic(path.join(tmp, 'meta.json'), meta);
  });
  run.log(`scored ${meta.rows} evaluation rows of shard ${index}/${count} with ${ids.length} contenders`);
  return {
    rowsIn: total,
    rowsOut: meta.rows,
    unitOut: 'scored rows',
    summary: { shard: `${index}/${count}`, candidate: run.card.version, scored: meta.rows },
  };
}

/**
 * After every evaluate shard: one pass over the master table without scoring (labels, customers and the
 * learning curve's seeded samples, exactly as one process draws them), each contender's scores taken from
 * the shards and put back in master-table order, then the rest of the stage as one process runs it
 * (threshold, metrics with customer-level intervals, learning curve, gate, report, promotion).
 */
export async function mergeEvaluate(
  opts: RunEvaluateOptions & { readonly shards: number },
): Promise<RunEvaluateResult> {
  cleanReportTemporaries(opts.dataDir);
  const run = await openEvaluation(opts);
  const worker = await startBootstrapWorker(run, opts);
  try {
    return await mergeWith(run, worker, opts);
  } finally {
    await worker?.close();
  }
}

async function mergeWith(
  run: OpenEvaluation,
  worker: BootstrapWorker | null,
  opts: RunEvaluateOptions & { readonly shards: number },
): Promise<RunEvaluateResult> {
  const n = opts.shards;
  const ids = run.models.map((m) => m.id);
  const shards = Array.from({ length: n }, (_, i) => {
    const dir = evaluateShardDir(run.layout, i, n);
    const file = path.join(dir, 'meta.json');
    if (!fs.existsSync(file))
      throw new Error(
        `shard ${i} of ${n} has not run (no ${path.relative(run.layout.root, file)}): run evaluate --shard ${i}/${n}`,
      );
    return { dir, meta: readJson<ShardMeta>(file) };
  });
  const unscored = await scoreMaster(run.master, [], run.params, run.card.features);
  const key = runKey(run, unscored.total);
  shards.forEach(({ meta }, i) => {
    if (meta.run !== key)
      throw new Error(
        `shard ${i} of ${n} scored another candidate, master table, contenders or params than the merge sees: run evaluate --shard ${i}/${n}`,
      );
  });
  // Per split, the shards' scored rows merged by position in the master table: the order one process
  // scores them in. Each shard's rows of a split are already in that order, so a k-way merge suffices.
  const staged = shards.map(({ dir }) => stagedScores(path.join(dir, 'scores.parquet'), ids.length));
  const counts: Record<Scored, number> = { calibration: 0, test: 0, holdout: 0 };
  const scores: ScoredMaster['scores'] = Object.fromEntries(
    ids.map((id) => [id, Object.fromEntries(SCORED.map((s) => [s, new Growable()]))]),
  ) as ScoredMaster['scores'];
  SCORED.forEach((s, code) => {
    const labels = unscored.labels[s].values();
    const out = ids.map((id) => scores[id]![s]);
    const at = staged.map((x) => x.bySplit[code]!);
    const next = new Int32Array(staged.length); // per shard: index into its rows of this split
    for (let k = 0; ; k++) {
      let best = -1;
      let bestRow = Infinity;
      for (let j = 0; j < staged.length; j++) {
        const n = next[j]!;
        if (n < at[j]!.length && staged[j]!.row[at[j]![n]!]! < bestRow) {
          best = j;
          bestRow = staged[j]!.row[at[j]![n]!]!;
        }
      }
      if (best < 0) {
        counts[s] = k;
        break;
      }
      const i = at[best]![next[best]!++]!;
      if (k >= labels.length || staged[best]!.label[i] !== labels[k])
        throw new Error(`the shards' ${s} rows are not the master table's: run every evaluate shard again`);
      for (let m = 0; m < out.length; m++) out[m]!.push(staged[best]!.scores[m]![i]!);
    }
    if (counts[s] !== labels.length)
      throw new Error(`the shards' ${s} rows are not the master table's: run every evaluate shard again`);
  });
  const merged: ScoredMaster = { ...unscored, scores };
  run.log(`merged the scores of ${n} shards: ${SCORED.map((s) => `${s} ${counts[s]}`).join(', ')}`);
  const result = await finishEvaluation(run, merged, opts, worker);
  fs.rmSync(run.layout.evaluateShards, { recursive: true, force: true });
  return result;
}

/** A shard's staged scores, column by column, with the positions of each scored split's rows (in row order). */
interface StagedScores {
  readonly row: Int32Array;
  readonly label: Int32Array;
  readonly scores: readonly Float64Array[];
  /** Per scored split (SCORED order), the indexes of its rows in this file. */
  readonly bySplit: readonly Uint32Array[];
}

function stagedScores(file: string, contenders: number): StagedScores {
  const table = readParquetFile(file);
  const vector = (name: string) => {
    const v = table.getChild(name);
    if (!v) throw new Error(`${file}: no column ${name}: run the evaluate shard again`);
    return v;
  };
  const row = Int32Array.from(vector('row').toArray() as ArrayLike<number>);
  const label = Int32Array.from(vector('label').toArray() as ArrayLike<number>);
  const scores = Array.from({ length: contenders }, (_, k) =>
    Float64Array.from(vector(`s${k}`).toArray() as ArrayLike<number>),
  );
  const split = vector('split');
  const positions = SCORED.map(() => new Growable<Uint32Array>((n) => new Uint32Array(n)));
  for (let i = 0; i < table.numRows; i++) {
    const code = SCORED.indexOf(split.get(i) as Scored);
    if (code < 0) throw new Error(`${file}: row ${i} has split ${String(split.get(i))}, not a scored split`);
    positions[code]!.push(i);
  }
  return { row, label, scores, bySplit: positions.map((g) => g.values()) };
}

/** The master columns a shard reads: what the contenders read, the target, the split and the customer. */
function columnsOf(run: OpenEvaluation): string[] {
  const wanted = new Set<string>([
    ...FEATURE_NAMES,
    ...run.models.flatMap((m) => m.model.card.features),
    TARGET,
    'split',
    run.master.groupColumn,
  ]);
  const read = new Set<string>([...run.models.flatMap((m) => m.model.inputs), TARGET, 'split', run.master.groupColumn]);
  return run.master.columns.filter((c) => wanted.has(c) && read.has(c));
}

function runKey(run: OpenEvaluation, rows: number): string {
  return sha256(
    canonicalJson({
      candidate: run.card.version,
      master: run.master.file,
      rows,
      contenders: run.models.map((m) => m.id),
      params: run.params,
    }),
  );
}
