/**
 * Grouped cross-validation plans: which rows each repeat holds out in each fold, always whole
 * customers. Few customers → leave-one-customer-out; otherwise repeated grouped k-fold with
 * positives spread evenly over the folds; or the build's own folds.
 */
import { seededRandom } from '@bolsillo/core';

/** `cv` in the train params (every field optional; {@link DEFAULT_CV} fills the rest). */
export interface CvParams {
  readonly scheme?: 'auto' | 'build' | 'group_kfold' | 'loco';
  readonly folds?: number;
  readonly repeats?: number;
  readonly loco_below_customers?: number;
}

export const DEFAULT_CV: Required<CvParams> = { scheme: 'auto', folds: 5, repeats: 2, loco_below_customers: 50 };

/** A CV plan: per repeat, the fold of every row (−1: never held out). */
export interface CvPlan {
  readonly scheme: 'build' | 'group_kfold' | 'loco';
  readonly repeats: readonly Int32Array[];
  readonly customers: number;
  readonly positive_customers: number;
  readonly description: string;
}

/**
 * Plan the CV of a training set. `auto` is leave-one-customer-out below `loco_below_customers`
 * customers, repeated grouped k-fold above. Group k-fold: customers shuffled (seeded per repeat),
 * then dealt, most positives first, to the fold with the fewest positives so far (ties: fewest
 * rows), so every fold has positives when there are enough positive customers.
 */
export function planCv(
  groups: readonly string[],
  y: ArrayLike<number>,
  buildFolds: Int32Array,
  cv: CvParams | undefined,
  seed: number,
): CvPlan {
  const p = { ...DEFAULT_CV, ...(cv ?? {}) };
  const rowsOf = new Map<string, number>();
  const posOf = new Map<string, number>();
  groups.forEach((g, i) => {
    rowsOf.set(g, (rowsOf.get(g) ?? 0) + 1);
    posOf.set(g, (posOf.get(g) ?? 0) + (y[i] ? 1 : 0));
  });
  const names = [...rowsOf.keys()].sort();
  const customers = names.length;
  const positive_customers = names.filter((g) => posOf.get(g)! > 0).length;
  const scheme = p.scheme === 'auto' ? (customers < p.loco_below_customers ? 'loco' : 'group_kfold') : p.scheme;
  if (scheme === 'build') {
    const k = new Set(Array.from(buildFolds).filter((f) => f >= 0)).size;
    return {
      scheme,
      repeats: [Int32Array.from(buildFolds)],
      customers,
      positive_customers,
      description: `the build's ${k} grouped folds`,
    };
  }
  if (scheme === 'loco') {
    const index = new Map(names.map((g, i) => [g, i]));
    return {
      scheme,
      repeats: [Int32Array.from(groups, (g) => index.get(g)!)],
      customers,
      positive_customers,
      description: `leave one customer out (${customers} folds)`,
    };
  }
  const k = Math.max(2, Math.min(p.folds, customers));
  const repeats: Int32Array[] = [];
  for (let r = 0; r < Math.max(1, p.repeats); r++) {
    const order = [...names];
    const rand = seededRandom(seed + 7919 * (r + 1));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    // Stable sort keeps the shuffled order among customers with equal positives.
    order.sort((a, b) => posOf.get(b)! - posOf.get(a)!);
    const foldPos = new Float64Array(k);
    const foldRows = new Float64Array(k);
    const foldOf = new Map<string, number>();
    for (const g of order) {
      let best = 0;
      for (let f = 1; f < k; f++) {
        if (foldPos[f]! < foldPos[best]! || (foldPos[f] === foldPos[best] && foldRows[f]! < foldRows[best]!)) best = f;
      }
      foldOf.set(g, best);
      foldPos[best]! += posOf.get(g)!;
      foldRows[best]! += rowsOf.get(g)!;
    }
    repeats.push(Int32Array.from(groups, (g) => foldOf.get(g)!));
  }
  return {
    scheme,
    repeats,
    customers,
    positive_customers,
    description: `${repeats.length} × grouped ${k}-fold (positives spread over folds)`,
  };
}

/** Fold ids of one repeat (ascending, −1 excluded). */
export function foldsOf(assignment: Int32Array): number[] {
  return [...new Set(Array.from(assignment))].filter((f) => f >= 0).sort((a, b) => a - b);
}
