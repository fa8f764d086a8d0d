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
    const names = [...foldOf]
      .filter(([, f]) => f === fold)
      .map(([g]) => g)
      .sort((a, b) => a - b);
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

/** Customer keys interned to small integers straight from their UTF-8 bytes (no string per row). */
class ByteInterner {
  private slots = new Int32Array(1 << 12).fill(-1);
  private hashes: number[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private arena = new Uint8Array(1 << 16);
  private used = 0;

  get size(): number {
    return this.hashes.length;
  }

  id(bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h >>>= 0;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id < 0) return this.add(s, h, bytes, start, end);
      if (this.hashes[id] === h && this.same(id, bytes, start, end)) return id;
    }
  }

  private same(id: number, bytes: Uint8Array, start: number, end: number): boolean {
    const a = this.starts[id]!;
    if (this.ends[id]! - a !== end - start) return false;
    for (let i = 0; i < end - start; i++) if (this.arena[a + i] !== bytes[start + i]) return false;
    return true;
  }

  private add(slot: number, h: number, bytes: Uint8Array, start: number, end: number): number {
    const id = this.hashes.length;
    if (this.used + end - start > this.arena.length) {
      const next = new Uint8Array(Math.max(this.arena.length * 2, this.used + end - start));
      next.set(this.arena);
      this.arena = next;
    }
    this.arena.set(bytes.subarray(start, end), this.used);
    this.hashes.push(h);
    this.starts.push(this.used);
    this.used += end - start;
    this.ends.push(this.used);
    this.slots[slot] = id;
    if (this.hashes.length * 2 > this.slots.length) {
      const slots = new Int32Array(this.slots.length * 2).fill(-1);
      const mask = slots.length - 1;
      for (let i = 0; i < this.hashes.length; i++) {
        let s = this.hashes[i]! & mask;
        while (slots[s]! >= 0) s = (s + 1) & mask;
        slots[s] = i;
      }
      this.slots = slots;
    }
    return id;
  }
}

interface Utf8Chunk {
  readonly offset: number;
  readonly length: number;
  readonly valueOffsets: Int32Array;
  readonly values: Uint8Array;
}

/** The raw chunks of a non-null string column, or null when it is not a plain Utf8 column. */
function utf8Chunks(v: { data: readonly unknown[] } | null): Utf8Chunk[] | null {
  if (!v) return null;
  const chunks = v.data as (Partial<Utf8Chunk> & { nullCount?: number })[];
  if (!chunks.every((c) => c.valueOffsets instanceof Int32Array && c.values instanceof Uint8Array && !c.nullCount))
    return null;
  return chunks as Utf8Chunk[];
}

const TRAIN = new TextEncoder().encode('train');
const CALIBRATION = new TextEncoder().encode('calibration');

function bytesEqual(a: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (a[start + i] !== word[i]) return false;
  return true;
}

/**
 * Read the train and calibration rows of a master table without materialising the whole file:
 * pass 1 streams only split/fold/group (customers interned to integers from their bytes), picks the
 * rows to keep (train: whole customers per fold up to `maxTrainRows`; calibration: whole customers up
 * to `maxCalibrationRows`); pass 2 streams only `columns` and builds row objects for the kept rows.
 * Memory is bounded by one Parquet batch, a byte per row and the kept rows, whatever the table size.
 */
export async function readTrainingRows(
  file: string,
  columns: readonly string[],
  options: { maxTrainRows: number; maxCalibrationRows: number; seed: number },
): Promise<{ train: Row[]; calibration: Row[]; sample: SampleRecord }> {
  const ids = new ByteInterner();
  const trainPos = new IntList();
  const trainGroup = new IntList();
  const trainFold = new IntList();
  const calPos = new IntList();
  const calGroup = new IntList();
  let total = 0;
  await forEachParquetBatch(file, { columns: ['split', 'fold', 'group'] }, (t, offset) => {
    total = Math.max(total, offset + t.numRows);
    const split = t.getChild('split')!;
    const fold = t.getChild('fold')!;
    const group = t.getChild('group')!;
    const splitChunks = utf8Chunks(split);
    const groupChunks = utf8Chunks(group);
    const bytes = new TextEncoder();
    // Split and customer key from the columns' UTF-8 bytes when they are plain strings (the build
    // writes them so); anything else goes through Arrow's accessor.
    const cursor = (chunks: Utf8Chunk[] | null) => {
      let c = 0;
      let base = 0;
      return (i: number): [Uint8Array, number, number] | null => {
        if (!chunks) return null;
        while (i >= base + chunks[c]!.length) base += chunks[c++]!.length;
        const d = chunks[c]!;
        const k = d.offset + i - base;
        return [d.values, d.valueOffsets[k]!, d.valueOffsets[k + 1]!];
      };
    };
    const splitAt = cursor(splitChunks);
    const groupAt = cursor(groupChunks);
    for (let i = 0; i < t.numRows; i++) {
      let isTrain: boolean;
      let isCal: boolean;
      const sb = splitAt(i);
      if (sb) {
        isTrain = bytesEqual(sb[0], sb[1], sb[2], TRAIN);
        isCal = !isTrain && bytesEqual(sb[0], sb[1], sb[2], CALIBRATION);
      } else {
        const s = split.get(i) as string;
        isTrain = s === 'train';
        isCal = s === 'calibration';
      }
      if (!isTrain && !isCal) continue;
      const gb = groupAt(i);
      let id: number;
      if (gb) id = ids.id(gb[0], gb[1], gb[2]);
      else {
        const key = bytes.encode(String(group.get(i)));
        id = ids.id(key, 0, key.length);
      }
      if (isTrain) {
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
  const calKeep = sampleGroupsByFold(
    calGroup.view(),
    new Int32Array(calGroup.length),
    options.maxCalibrationRows,
    options.seed + 2,
  );
  // Global positions to materialise, tagged train (1) or calibration (2): one byte per row of the file.
  const wanted = new Uint8Array(total);
  for (const i of trainKeep) wanted[trainPos.data[i]!] = 1;
  for (const i of calKeep) wanted[calPos.data[i]!] = 2;
  const train: Row[] = [];
  const calibration: Row[] = [];
  const cols = [...new Set(columns)];
  // Every row is a copy of one template holding all the columns: rows share one shape and keep fast
  // properties (an object grown one column at a time falls back to a slow dictionary past a dozen).
  const template = JSON.parse(JSON.stringify(Object.fromEntries(cols.map((c) => [c, null])))) as Row;
  await forEachParquetBatch(file, { columns: cols }, (t, offset) => {
    const vectors = cols.map((c) => [c, t.getChild(c)] as const);
    for (let i = 0; i < t.numRows; i++) {
      const tag = wanted[offset + i];
      if (!tag) continue;
      const row: Row = { ...template };
      for (const [c, v] of vectors) {
        const x = v ? v.get(i) : null;
        row[c] = typeof x === 'bigint' ? Number(x) : x;
      }
      (tag === 1 ? train : calibration).push(row);
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
