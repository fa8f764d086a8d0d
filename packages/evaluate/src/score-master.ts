/**
 * One streamed pass over the master table: every contender scores the calibration, test and holdout
 * rows batch by batch (no whole-table row objects), with labels and customers alongside, while the
 * learning curve's train and validation rows are drawn as seeded reservoir samples.
 */
import fs from 'node:fs';
import { dataLayout, forEachParquetBatch, readContract, readParquetColumnNames, Reservoir } from '@bolsillo/core';
import type { LoadedModel } from '@bolsillo/model';
import { FEATURE_NAMES, MasterLatestSchema, TARGET, type ModelCard } from '@bolsillo/schema';
import { BatchColumns, SPLIT_CODE, splitCodes, truthyCodes } from './batch-columns';
import type { SplitLabels } from './evaluation';
import { DEFAULT_LEARNING_CURVE_MAX_ROWS, type EvaluateParams } from './params';

type Row = Record<string, unknown>;

/** Splits whose rows are scored: the threshold split (calibration, or test) and the evaluation splits. */
export const SCORED = ['calibration', 'test', 'holdout'] as const;
export type Scored = (typeof SCORED)[number];

/** Rows per batch of the master stream: bounds the row objects alive at once. */
const BATCH_ROWS = 32_768;

/** The typed arrays a {@link Growable} column can hold. */
export type NumberColumn = Float64Array | Uint32Array | Uint8Array;

/** The constructor of a {@link NumberColumn}. */
type ColumnType<T extends NumberColumn> = { new (buffer: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };

/**
 * A typed column of `n` zeros on shared memory: the bootstrap thread is handed the test and holdout
 * columns and reads them where they are, instead of a copy of every contender's scores of the split.
 */
export function sharedColumn<T extends NumberColumn>(type: ColumnType<T>, n: number): T {
  return new type(new SharedArrayBuffer(n * type.BYTES_PER_ELEMENT));
}

/**
 * A growable typed column (scores, labels or customers of one split, appended batch by batch) on
 * shared memory: Float64 by default (scores), Uint8 for 0/1 labels and Uint32 for customer ids, so
 * an evaluation row costs 8 bytes per contender plus 5, not 8 per column.
 */
export class Growable<T extends NumberColumn = Float64Array> {
  private buf: T;
  length = 0;
  constructor(private readonly make: (n: number) => T = (n) => sharedColumn(Float64Array, n) as T) {
    this.buf = make(1024);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = this.make(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  pushAll(vs: ArrayLike<number>): void {
    for (let i = 0; i < vs.length; i++) this.push(vs[i]!);
  }
  /** A full column of `values` (no copy): what a pass that knew its length up front filled. */
  static of<T extends NumberColumn>(values: T): Growable<T> {
    const make = (n: number) => sharedColumn(values.constructor as ColumnType<T>, n);
    const column = new Growable<T>(make);
    column.buf = values;
    column.length = values.length;
    return column;
  }
  /** The values, as a view (no copy: the column is read once the pass that fills it is over). */
  values(): T {
    return this.buf.subarray(0, this.length) as T;
  }
}

/** The master table a candidate is evaluated on: its file, its columns and its customer column. */
export interface MasterSource {
  readonly file: string;
  readonly columns: readonly string[];
  /** The build's group column (the customer key), or the key itself in older tables. */
  readonly groupColumn: string;
}

/** The candidate's master table (the current one when it is gone), its columns and its customer column. */
export async function openMaster(dataDir: string, hash: string): Promise<MasterSource> {
  const layout = dataLayout(dataDir);
  let file = layout.masterTable(hash);
  if (!fs.existsSync(file)) {
    const latest = readContract(layout.masterLatest, MasterLatestSchema, null);
    if (!latest) throw new Error(`evaluate: master table ${hash} not found and no master/latest.json`);
    file = layout.masterTable(latest.hash);
  }
  if (!fs.existsSync(file)) throw new Error(`evaluate: ${file} not found (run build first)`);
  const columns = await readParquetColumnNames(file);
  const groupColumn = columns.includes('group') ? 'group' : 'customer_key';
  if (!columns.includes(groupColumn))
    throw new Error(`evaluate: ${file} has no customer column (group or customer_key): intervals resample customers`);
  return { file, columns, groupColumn };
}

/** Whether a model's features are all columns of the master table. */
export function canScore(master: MasterSource, card: ModelCard): boolean {
  return card.features.every((f) => master.columns.includes(f));
}

/** What one pass over the master table gathered. */
export interface ScoredMaster {
  /** Rows read, and train rows among them. */
  readonly total: number;
  readonly trainRows: number;
  /** Distinct customers outside train. */
  readonly customers: number;
  /** Labels (0/1) and customer ids (small integers) of each scored split, in row order. */
  readonly labels: Readonly<Record<Scored, Growable<Uint8Array>>>;
  readonly groups: Readonly<Record<Scored, Growable<Uint32Array>>>;
  /** Each contender's scores on each scored split, by contender id. */
  readonly scores: Readonly<Record<string, Readonly<Record<Scored, Growable>>>>;
  /** The learning curve's seeded samples: train rows, and calibration and test rows for validation. */
  readonly samples: {
    readonly train: Reservoir<Row>;
    readonly calibration: Reservoir<Row>;
    readonly test: Reservoir<Row>;
    readonly cap: number;
  };
}

/**
 * Stream the master table once with only the columns a model can use, the target, the split and the
 * customer (ids and folds are never needed here), and score every scored split's rows with every model.
 */
export async function scoreMaster(
  master: MasterSource,
  models: readonly { readonly id: string; readonly model: LoadedModel }[],
  params: EvaluateParams,
  /** The candidate's features: what the learning curve's sampled rows need besides the target. */
  learningFeatures: readonly string[],
): Promise<ScoredMaster> {
  const cap = params.learning_curve.max_rows ?? DEFAULT_LEARNING_CURVE_MAX_ROWS;
  const samples = {
    train: new Reservoir<Row>(cap, params.seed + 101),
    calibration: new Reservoir<Row>(cap, params.seed + 102),
    test: new Reservoir<Row>(cap, params.seed + 103),
    cap,
  };
  const perSplit = <T extends NumberColumn>(make?: (n: number) => T) =>
    Object.fromEntries(SCORED.map((s) => [s, new Growable<T>(make)])) as Record<Scored, Growable<T>>;
  const labels = perSplit((n) => sharedColumn(Uint8Array, n));
  const groups = perSplit((n) => sharedColumn(Uint32Array, n));
  const scores = Object.fromEntries(models.map((m) => [m.id, perSplit<Float64Array>()]));
  const customerIds = new Map<string, number>();
  let total = 0;
  let trainRows = 0;
  const wanted = new Set<string>([
    ...FEATURE_NAMES,
    ...models.flatMap((m) => m.model.card.features),
    TARGET,
    'split',
    master.groupColumn,
  ]);
  // Of those, only what is read: each model's inputs, the learning curve's features, the target,
  // the split and the customer (every other column would be decoded for nothing).
  const needed = new Set<string>([
    ...models.flatMap((m) => m.model.inputs),
    ...learningFeatures,
    TARGET,
    'split',
    master.groupColumn,
  ]);
  const columns = master.columns.filter((n) => wanted.has(n) && needed.has(n));
  const sampleColumns = columns.filter((n) => n === TARGET || learningFeatures.includes(n));
  const splitOf: Record<number, Scored | undefined> = {
    [SPLIT_CODE.calibration]: 'calibration',
    [SPLIT_CODE.test]: 'test',
    [SPLIT_CODE.holdout]: 'holdout',
  };
  await forEachParquetBatch(master.file, { columns, batchSize: BATCH_ROWS }, (table) => {
    const batch = new BatchColumns(table);
    const n = batch.length;
    total += n;
    const split = splitCodes(batch.vector('split'));
    const target = truthyCodes(batch.vector(TARGET), n);
    // Rows of each scored split, in row order; the learning curve's samples take row objects only
    // for the rows they keep.
    const at: Record<Scored, number[]> = { calibration: [], test: [], holdout: [] };
    for (let i = 0; i < n; i++) {
      const code = split[i]!;
      if (code === SPLIT_CODE.train) {
        trainRows++;
        samples.train.offerWith(() => batch.row(i, sampleColumns));
        continue;
      }
      const s = splitOf[code];
      if (!s) continue;
      at[s].push(i);
      if (s !== 'holdout') samples[s].offerWith(() => batch.row(i, sampleColumns));
    }
    const group = batch.vector(master.groupColumn);
    for (const s of SCORED) {
      for (const i of at[s]) {
        labels[s].push(target[i]!);
        const key = String(group?.isValid(i) ? group.get(i) : null);
        let id = customerIds.get(key);
        if (id === undefined) customerIds.set(key, (id = customerIds.size));
        groups[s].push(id);
      }
    }
    if (models.length === 0) return;
    // Every scored row of the batch in one column batch (a row's score does not depend on the others).
    const rows = Uint32Array.from([...at.calibration, ...at.test, ...at.holdout]);
    if (rows.length === 0) return;
    const columnsOfRows = batch.columnBatch(rows);
    for (const m of models) {
      const p = m.model.predictColumns(columnsOfRows);
      let from = 0;
      for (const s of SCORED) {
        scores[m.id]![s].pushAll(p.subarray(from, from + at[s].length));
        from += at[s].length;
      }
    }
  });
  return { total, trainRows, customers: customerIds.size, labels, groups, scores, samples };
}

/** The split the threshold is chosen on: calibration when asked for and present, else test. */
export function thresholdSplitOf(params: EvaluateParams, scored: ScoredMaster): Scored {
  return params.threshold.split === 'calibration' && scored.labels.calibration.length > 0 ? 'calibration' : 'test';
}

/** The labels and customers the evaluation takes: threshold rows, test and holdout. */
export function splitLabelsOf(scored: ScoredMaster, thresholdSplit: Scored): SplitLabels {
  return {
    threshold: scored.labels[thresholdSplit].values(),
    thresholdSplit,
    test: scored.labels.test.values(),
    holdout: scored.labels.holdout.values(),
    groups: { test: scored.groups.test.values(), holdout: scored.groups.holdout.values() },
  };
}
