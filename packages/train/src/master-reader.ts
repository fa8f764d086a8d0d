import { forEachParquetBatch, seededRandom } from '@bolsillo/core';

type Row = Record<string, unknown>;

/** What {@link readTrainingRows} sampled, for the model card. */
export interface SampleRecord {
  /** Train-split rows (and customers) in the master table. */
  readonly train_rows_available: number;
  readonly train_groups_available: number;
  /** Train rows (and customers) kept: whole customers, drawn per fold, at most `max_train_rows`. */
  readonly train_rows: number;
  readonly train_groups: number;
  readonly calibration_rows_available: number;
  readonly calibration_rows: number;
  readonly method: string;
  readonly seed: number;
}

/**
 * A seeded sample of whole groups, stratified by fold: each fold keeps its share of `maxRows` (so
 * the grouped CV stays balanced) and a customer's rows stay together. Returns sorted positions, all
 * of them when they already fit. Groups are small integers (interned ids) to keep 10M-row inputs cheap.
 */
export function sampleGroupsByFold(groups: Int32Array, folds: Int32Array, maxRows: number, seed: number): Int32Array {
  const n = groups.length;
  if (n <= maxRows) return Int32Array.from({ length: n }, (_, i) => i);
  const rowsOf = new Map<number, number>();
  const foldOf = new Map<number, number>();
  const foldRows = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    rowsOf.set(groups[i]!, (rowsOf.get(groups[i]!) ?? 0) + 1);
    foldOf.set(groups[i]!, folds[i]!);
    foldRows.set(folds[i]!, (foldRows.get(folds[i]!) ?? 0) + 1);
  }
  const rand = seededRandom(seed);
  const keep = new Set<number>();
  for (const fold of [...foldRows.keys()].sort((a, b) => a - b)) {
    const names = [...foldOf].filter(([, f]) => f === fold).map(([g]) => g).sort((a, b) => a - b);
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [names[i], names[j]] = [names[j]!, names[i]!];
    }
    const target = Math.round((maxRows * foldRows.get(fold)!) / n);
    let taken = 0;
    for (const g of names) {
      if (taken >= target) break;
      const r = rowsOf.get(g)!;
      if (taken > 0 && taken + r > target) continue;
      keep.add(g);
      taken += r;
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep.has(groups[i]!)) out.push(i);
  return Int32Array.from(out);
}

class IntList {
  data = new Int32Array(1024);
  length = 0;
  push(v: number) {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view() {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Read the train and calibration rows of a master table without materialising the whole file:
 * pass 1 streams only split/fold/group (customers interned to integers), picks the rows to keep
 * (train: whole customers per fold up to `maxTrainRows`; calibration: whole customers up to
 * `maxCalibrationRows`); pass 2 streams only `columns` and builds row objects for the kept rows.
 * Memory is bounded by one Parquet batch plus the kept rows, whatever the table size.
 */
export async function readTrainingRows(
  file: string,
  columns: readonly string[],
  options: { maxTrainRows: number; maxCalibrationRows: number; seed: number },
): Promise<{ train: Row[]; calibration: Row[]; sample: SampleRecord }> {
  const ids = new Map<string, number>();
  const trainPos = new IntList();
  const trainGroup = new IntList();
  const trainFold = new IntList();
  const calPos = new IntList();
  const calGroup = new IntList();
  await forEachParquetBatch(file, { columns: ['split', 'fold', 'group'] }, (t, offset) => {
    const split = t.getChild('split')!;
    const fold = t.getChild('fold')!;
    const group = t.getChild('group')!;
    for (let i = 0; i < t.numRows; i++) {
      const s = split.get(i) as string;
      if (s !== 'train' && s !== 'calibration') continue;
      const g = String(group.get(i));
      let id = ids.get(g);
      if (id === undefined) ids.set(g, (id = ids.size));
      if (s === 'train') {
        trainPos.push(offset + i);
        trainGroup.push(id);
        trainFold.push(Number(fold.get(i)));
      } else {
        calPos.push(offset + i);
        calGroup.push(id);
      }
    }
  });
  const trainKeep = sampleGroupsByFold(trainGroup.view(), trainFold.view(), options.maxTrainRows, options.seed);
  const calKeep = sampleGroupsByFold(calGroup.view(), new Int32Array(calGroup.length), options.maxCalibrationRows, options.seed + 2);
  // Global positions to materialise, tagged train (0) or calibration (1), in file order.
  const wanted = new Map<number, 0 | 1>();
  for (const i of trainKeep) wanted.set(trainPos.data[i]!, 0);
  for (const i of calKeep) wanted.set(calPos.data[i]!, 1);
  const train: Row[] = [];
  const calibration: Row[] = [];
  const cols = [...new Set(columns)];
  await forEachParquetBatch(file, { columns: cols }, (t, offset) => {
    const vectors = cols.map((c) => [c, t.getChild(c)] as const);
    for (let i = 0; i < t.numRows; i++) {
      const tag = wanted.get(offset + i);
      if (tag === undefined) continue;
      const row: Row = {};
      for (const [c, v] of vectors) {
        const x = v ? v.get(i) : null;
        row[c] = typeof x === 'bigint' ? Number(x) : x;
      }
      (tag === 0 ? train : calibration).push(row);
    }
  });
  const distinct = (g: Int32Array, keep: Int32Array) => new Set(Array.from(keep, (i) => g[i]!)).size;
  return {
    train,
    calibration,
    sample: {
      train_rows_available: trainPos.length,
      train_groups_available: new Set(trainGroup.view()).size,
      train_rows: trainKeep.length,
      train_groups: distinct(trainGroup.view(), trainKeep),
      calibration_rows_available: calPos.length,
      calibration_rows: calKeep.length,
      method: 'whole customers, seeded, stratified by CV fold (calibration: whole customers, seeded)',
      seed: options.seed,
    },
  };
}
