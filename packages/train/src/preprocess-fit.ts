import { featureDeclaration, type Preprocessing, type PreprocessingColumn } from '@bolsillo/schema';
import { encodedNames } from '@bolsillo/model';

/** Options of {@link fitPreprocessing}. */
export interface PreprocessOptions {
  /** Category values seen fewer times than this go to the out-of-vocabulary column. */
  readonly min_category_count: number;
  readonly max_categories: number;
  /** Quantile bins per numeric feature (one-hot beside the scaled value); 0 or absent = none. */
  readonly numeric_bins?: number;
  /** How the bins become columns: one-hot (default) or thermometer (cumulative `x ≥ edge` columns). */
  readonly bin_encoding?: 'one_hot' | 'thermometer';
  /** Keep the standardised value beside the bins (default true); false = the bins alone (a step function). */
  readonly scaled?: boolean;
}

type Row = Readonly<Record<string, unknown>>;

const isMissing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));

/**
 * Fit preprocessing on training rows only: standardise numbers (mean/std, missing → mean plus an
 * indicator for nullable or gappy features), booleans as 0/1, categories one-hot over a vocabulary of
 * frequent values plus an out-of-vocabulary column. Kinds come from the feature declarations.
 */
export function fitPreprocessing(
  rows: readonly Row[],
  features: readonly string[],
  options: PreprocessOptions,
): Preprocessing {
  const columns: PreprocessingColumn[] = features.map((name) => {
    const decl = featureDeclaration(name);
    const dtype =
      decl?.dtype ?? (typeof rows.find((r) => !isMissing(r[name]))?.[name] === 'string' ? 'category' : 'number');
    if (dtype === 'boolean') return { name, kind: 'boolean' };
    if (dtype === 'category') {
      const counts = new Map<string, number>();
      for (const r of rows)
        if (!isMissing(r[name])) counts.set(String(r[name]), (counts.get(String(r[name])) ?? 0) + 1);
      const vocabulary = [...counts]
        .filter(([, c]) => c >= options.min_category_count)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, options.max_categories)
        .map(([v]) => v);
      return { name, kind: 'category', vocabulary };
    }
    const values = new Float64Array(rows.length);
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    let missing = 0;
    for (const r of rows) {
      const v = r[name];
      const x = isMissing(v) ? NaN : Number(v);
      if (!Number.isFinite(x)) {
        missing++;
        continue;
      }
      values[n++] = x;
      sum += x;
      sumSq += x * x;
    }
    const mean = n ? sum / n : 0;
    const variance = n ? Math.max(sumSq / n - mean * mean, 0) : 0;
    const std = Math.sqrt(variance);
    const bins = options.numeric_bins ?? 0;
    let bin_edges: number[] | undefined;
    if (bins > 1 && n > 0) {
      // A typed array sorts numerically without a comparator (and fast).
      const sorted = values.subarray(0, n).sort();
      const edges = new Set<number>();
      for (let q = 1; q < bins; q++) edges.add(sorted[Math.min(n - 1, Math.floor((q * n) / bins))]!);
      // Drop an edge at the minimum: its lower bin would always be empty.
      bin_edges = [...edges].filter((e) => e > sorted[0]!).sort((a, b) => a - b);
      if (bin_edges.length === 0) bin_edges = undefined;
    }
    return {
      name,
      kind: 'numeric',
      mean,
      std: std > 1e-12 ? std : 1,
      missing_indicator: missing > 0 || decl?.nullable === true,
      ...(bin_edges
        ? {
            bin_edges,
            ...(options.bin_encoding === 'thermometer' ? { bin_encoding: 'thermometer' as const } : {}),
            ...(options.scaled === false ? { scaled: false } : {}),
          }
        : {}),
    };
  });
  const encoded_names = columns.flatMap((c) => encodedNames(c));
  return { columns, width: encoded_names.length, encoded_names };
}
