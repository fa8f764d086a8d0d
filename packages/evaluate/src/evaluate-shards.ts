/**
 * Evaluate's scoring in shards. Scoring every evaluation row with every contender is the stage's
 * per-row work; shard i of N scores the rows of the customers hashing to i and stages, per row, its
 * split, its slot (its index among its split's rows in master-table order), its label and each
 * contender's score. The merge puts the scores in their slots, one shard and one batch at a time, and
 * runs the rest of the stage as one process does.
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
  memoryNote,
  readJson,
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
import { Growable, SCORED, scoreMaster, sharedColumn, type Scored, type ScoredMaster } from './score-master';

/** Rows per batch of the master stream (as one process reads it) and of a shard's staged scores. */
const BATCH_ROWS = 32_768;

/** Version of a shard's staged scores: 2 stages each row's slot in its split (1 staged its master row). */
const STAGED_VERSION = 2;

/** What a shard hands to the merge besides its scores. */
interface ShardMeta {
  readonly version: typeof STAGED_VERSION;
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
  const cols: Record<string, unknown[]> = { split: [], slot: [], label: [] };
  ids.forEach((_, k) => (cols[`s${k}`] = []));
  let total = 0;
  // Rows of each scored split so far, every shard's: a row's slot, as the merge places its scores.
  const seen: Record<Scored, number> = { calibration: 0, test: 0, holdout: 0 };
  const codes: Record<Scored, number> = {
    calibration: SPLIT_CODE.calibration,
    test: SPLIT_CODE.test,
    holdout: SPLIT_CODE.holdout,
  };
  await forEachParquetBatch(run.master.file, { columns: columnsOf(run), batchSize: BATCH_ROWS }, (table) => {
    const batch = new BatchColumns(table);
    total += batch.length;
    const split = splitCodes(batch.vector('split'));
    const target = truthyCodes(batch.vector(TARGET), batch.length);
    for (const s of SCORED) {
      const at: number[] = [];
      const slots: number[] = [];
      for (let i = 0; i < batch.length; i++) {
        if (split[i] !== codes[s]) continue;
        const slot = seen[s]++;
        if (shardOf(String(batch.value(run.master.groupColumn, i)), count) !== index) continue;
        at.push(i);
        slots.push(slot);
      }
      if (at.length === 0) continue;
      at.forEach((i, k) => {
        cols.split!.push(s);
        cols.slot!.push(slots[k]!);
        cols.label!.push(target[i]!);
      });
      const part = batch.columnBatch(Uint32Array.from(at));
      run.models.forEach((m, k) => {
        const out = cols[`s${k}`]!;
        for (const v of m.model.predictColumns(part)) out.push(v);
      });
    }
  });
  const schema = new Schema([
    new Field('split', new Utf8(), false),
    new Field('slot', new Int32(), false),
    new Field('label', new Int32(), false),
    ...ids.map((_, k) => new Field(`s${k}`, new Float64(), false)),
  ]);
  const meta: ShardMeta = {
    version: STAGED_VERSION,
    shard: { index, count },
    run: runKey(run, total),
    candidate: run.card.version,
    contenders: ids,
    rows: cols.slot!.length,
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
 * learning curve's seeded samples, exactly as one process draws them), each contender's scores put in
 * their rows' slots from the shards, then the rest of the stage as one process runs it (threshold,
 * metrics with customer-level intervals, learning curve, gate, report, promotion).
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
    if (meta.version !== STAGED_VERSION || meta.run !== key)
      throw new Error(
        `shard ${i} of ${n} scored another candidate, master table, contenders or params than the merge sees, or staged them in another format: run evaluate --shard ${i}/${n}`,
      );
  });
  // Every contender's scores of a split in one array of the split's size (what one process ends up
  // holding), filled slot by slot from one batch of one shard at a time.
  const labels = SCORED.map((s) => unscored.labels[s].values());
  const columns = ids.map(() => labels.map((l) => sharedColumn(Float64Array, l.length)));
  const filled = labels.map((l) => new Uint8Array(l.length));
  const scoredOf = new Int8Array(Object.keys(SPLIT_CODE).length).fill(-1);
  SCORED.forEach((s, code) => (scoredOf[SPLIT_CODE[s]] = code));
  const mismatch = (s: Scored) =>
    new Error(`the shards' ${s} rows are not the master table's: run every evaluate shard again`);
  for (const { dir } of shards) {
    const file = path.join(dir, 'scores.parquet');
    await forEachParquetBatch(file, { batchSize: BATCH_ROWS }, (table) => {
      const vector = (name: string) => {
        const v = table.getChild(name);
        if (!v) throw new Error(`${file}: no column ${name}: run the evaluate shard again`);
        return v;
      };
      const split = splitCodes(vector('split'));
      const slot = vector('slot').toArray() as Int32Array;
      const label = vector('label').toArray() as Int32Array;
      const score = ids.map((_, k) => vector(`s${k}`).toArray() as Float64Array);
      for (let i = 0; i < table.numRows; i++) {
        const code = scoredOf[split[i]!]!;
        if (code < 0) throw new Error(`${file}: row ${i} is not in a scored split: run the evaluate shard again`);
        const at = slot[i]!;
        if (at >= labels[code]!.length || filled[code]![at] || labels[code]![at] !== label[i])
          throw mismatch(SCORED[code]!);
        filled[code]![at] = 1;
        for (let m = 0; m < ids.length; m++) columns[m]![code]![at] = score[m]![i]!;
      }
    });
  }
  SCORED.forEach((s, code) => {
    if (filled[code]!.includes(0)) throw mismatch(s);
  });
  const scores: ScoredMaster['scores'] = Object.fromEntries(
    ids.map((id, m) => [id, Object.fromEntries(SCORED.map((s, code) => [s, Growable.of(columns[m]![code]!)]))]),
  ) as ScoredMaster['scores'];
  const merged: ScoredMaster = { ...unscored, scores };
  run.log(
    `merged the scores of ${n} shards: ${SCORED.map((s, code) => `${s} ${labels[code]!.length}`).join(', ')} (${memoryNote()})`,
  );
  const result = await finishEvaluation(run, merged, opts, worker);
  fs.rmSync(run.layout.evaluateShards, { recursive: true, force: true });
  return result;
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
