import { FEATURE_DECLARATIONS, type FeatureDeclaration, type FeatureName, type FeatureValues } from '@bolsillo/schema';

const DECLS = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];

/** Position of every declared feature in {@link FeatureColumns} (declaration order). */
export const FEATURE_INDEX = Object.fromEntries(DECLS.map((d, i) => [d.name, i])) as Readonly<
  Record<FeatureName, number>
>;

/** Options of a {@link FeatureColumns} sink. */
export interface FeatureColumnsOptions {
  /**
   * Store category features as codes into the batch's dictionary (`codes[f]`, `dicts[f]`) instead
   * of one string per row: typed arrays only, so the whole sink can be transferred to another
   * thread. Such a sink holds one kernel batch (the dictionaries are the batch's).
   */
  readonly categoryCodes?: boolean;
  /**
   * Arrays of an earlier sink to write into instead of allocating (codes mode only; used when they
   * hold at least `capacity` rows). Offline, a partition's arrays come back from the thread that
   * wrote them: fewer large allocations, so fewer full garbage collections.
   */
  readonly recycled?: FeatureColumnsArrays;
}

/** The typed arrays of a codes-mode {@link FeatureColumns} (what can be transferred and recycled). */
export interface FeatureColumnsArrays {
  readonly values: Float64Array[];
  readonly valid: Uint8Array[];
  readonly codes: Int32Array[];
}

/**
 * Feature values of many transactions as columns: the kernel's output sink. Numbers, integers and
 * booleans (0/1) live in one `Float64Array` per feature with a validity byte per row (0 = null);
 * category features are strings, or codes into a dictionary ({@link FeatureColumnsOptions}).
 * Offline, one sink holds a whole date partition and its arrays become Arrow vectors without a row
 * object in between; online, a one-row sink is read back with {@link FeatureColumns.row}.
 */
export class FeatureColumns {
  /** Per feature (declaration order): numeric values; unused for category features. */
  readonly values: Float64Array[];
  /** Per feature: 1 when the value at that row is not null. */
  readonly valid: Uint8Array[];
  /** Per feature: the strings of a category feature (empty arrays for the others, and in codes mode). */
  readonly text: string[][];
  /** Per feature, in codes mode: the code of a category feature's value in `dicts[f]` (empty otherwise). */
  readonly codes: Int32Array[];
  /** Per feature, in codes mode: the dictionary the codes of a category feature index (set by the kernel). */
  readonly dicts: (readonly string[])[];
  readonly categoryCodes: boolean;

  constructor(
    readonly capacity: number,
    options: FeatureColumnsOptions = {},
  ) {
    this.categoryCodes = options.categoryCodes === true;
    const codes = this.categoryCodes;
    const r = options.recycled;
    const reuse =
      codes && r !== undefined && r.valid.length === DECLS.length && r.valid.every((v) => v.length >= capacity);
    this.values = reuse ? r.values : DECLS.map((d) => new Float64Array(d.dtype === 'category' ? 0 : capacity));
    this.valid = reuse ? r.valid : DECLS.map(() => new Uint8Array(capacity).fill(1));
    this.text = DECLS.map((d) => (d.dtype === 'category' && !codes ? new Array<string>(capacity) : []));
    this.codes = reuse ? r.codes : DECLS.map((d) => new Int32Array(d.dtype === 'category' && codes ? capacity : 0));
    this.dicts = DECLS.map(() => []);
  }

  /** The values of one row as a plain object (declaration order, nulls as `null`). */
  row(i: number): FeatureValues {
    const out: Record<string, unknown> = {};
    for (let f = 0; f < DECLS.length; f++) {
      const d = DECLS[f]!;
      if (d.dtype === 'category')
        out[d.name] = !this.valid[f]![i]
          ? null
          : this.categoryCodes
            ? this.dicts[f]![this.codes[f]![i]!]
            : this.text[f]![i];
      else if (!this.valid[f]![i]) out[d.name] = null;
      else out[d.name] = d.dtype === 'boolean' ? this.values[f]![i] === 1 : this.values[f]![i];
    }
    return out as FeatureValues;
  }
}
