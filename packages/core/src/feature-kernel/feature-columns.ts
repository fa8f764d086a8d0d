import { FEATURE_DECLARATIONS, type FeatureDeclaration, type FeatureName, type FeatureValues } from '@bolsillo/schema';

const DECLS = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];

/** Position of every declared feature in {@link FeatureColumns} (declaration order). */
export const FEATURE_INDEX = Object.fromEntries(DECLS.map((d, i) => [d.name, i])) as Readonly<Record<FeatureName, number>>;

/**
 * Feature values of many transactions as columns: the kernel's output sink. Numbers, integers and
 * booleans (0/1) live in one `Float64Array` per feature with a validity byte per row (0 = null);
 * category features are strings. Offline, one sink holds a whole date partition and its arrays
 * become Arrow vectors without a row object in between; online, a one-row sink is read back with
 * {@link FeatureColumns.row}.
 */
export class FeatureColumns {
  /** Per feature (declaration order): numeric values; unused for category features. */
  readonly values: Float64Array[];
  /** Per feature: 1 when the value at that row is not null. */
  readonly valid: Uint8Array[];
  /** Per feature: the strings of a category feature (empty arrays for the others). */
  readonly text: string[][];

  constructor(readonly capacity: number) {
    this.values = DECLS.map((d) => new Float64Array(d.dtype === 'category' ? 0 : capacity));
    this.valid = DECLS.map(() => new Uint8Array(capacity).fill(1));
    this.text = DECLS.map((d) => (d.dtype === 'category' ? new Array<string>(capacity) : []));
  }

  /** The values of one row as a plain object (declaration order, nulls as `null`). */
  row(i: number): FeatureValues {
    const out: Record<string, unknown> = {};
    for (let f = 0; f < DECLS.length; f++) {
      const d = DECLS[f]!;
      if (d.dtype === 'category') out[d.name] = this.valid[f]![i] ? this.text[f]![i] : null;
      else if (!this.valid[f]![i]) out[d.name] = null;
      else out[d.name] = d.dtype === 'boolean' ? this.values[f]![i] === 1 : this.values[f]![i];
    }
    return out as FeatureValues;
  }
}
