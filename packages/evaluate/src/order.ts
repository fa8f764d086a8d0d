/**
 * Rows ranked by score, highest first, computed once per score array and shared by every consumer
 * (ranking metrics, curves, lift, threshold search, bootstrap). At 10M master rows a split holds
 * millions of rows, and sorting their indices with a comparator cost about a second per sort; the
 * stage asked for the same order a dozen times per contender.
 */

/** Orders already computed, by score array (score arrays are never mutated once scored). */
const orders = new WeakMap<object, Uint32Array>();

/**
 * Row indices by score descending, ties in index order: the same order as
 * `indices.sort((a, b) => p[b] - p[a])` (a stable sort), built from one native sort of the
 * distinct scores and a counting sort of the rows by their score's rank. Scores with NaN fall back
 * to the comparator sort (its order is then whatever that sort gives, as before).
 */
export function descendingOrder(p: ArrayLike<number>): Uint32Array {
  const hit = orders.get(p as object);
  if (hit) return hit;
  const n = p.length;
  const sorted = Float64Array.from(p).sort();
  let order: Uint32Array;
  if (n > 0 && Number.isNaN(sorted[n - 1]!)) {
    order = Uint32Array.from({ length: n }, (_, i) => i);
    const idx = Array.from(order).sort((a, b) => p[b]! - p[a]!);
    order.set(idx);
  } else {
    // Distinct scores, highest first.
    const distinct = new Float64Array(n);
    let d = 0;
    for (let i = n - 1; i >= 0; i--) if (d === 0 || sorted[i] !== distinct[d - 1]) distinct[d++] = sorted[i]!;
    const rank = new Uint32Array(n);
    const start = new Uint32Array(d + 1);
    for (let i = 0; i < n; i++) {
      const v = p[i]!;
      let lo = 0;
      let hi = d - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (distinct[mid]! > v) lo = mid + 1;
        else hi = mid;
      }
      rank[i] = lo;
      start[lo + 1]!++;
    }
    for (let r = 0; r < d; r++) start[r + 1]! += start[r]!;
    order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[start[rank[i]!]!++] = i;
  }
  orders.set(p as object, order);
  return order;
}

/**
 * The rows of `rows` (ascending row indices, a subset) in score order, ties in index order: the
 * same as sorting `rows` by score descending with a stable sort.
 */
export function descendingOrderOf(p: ArrayLike<number>, rows: Uint32Array): Uint32Array {
  const full = descendingOrder(p);
  if (rows.length === p.length) return full;
  const keep = new Uint8Array(p.length);
  for (let k = 0; k < rows.length; k++) keep[rows[k]!] = 1;
  const out = new Uint32Array(rows.length);
  let j = 0;
  for (let k = 0; k < full.length; k++) if (keep[full[k]!]) out[j++] = full[k]!;
  return out;
}

/**
 * Visit the groups of tied scores from the highest score down, with each group's positives and
 * negatives: the same groups, in the same order, as the core metrics' tie walk (finite scores).
 */
export function forEachTieGroupOrdered(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  visit: (gPos: number, gNeg: number, score: number) => void,
): void {
  const order = descendingOrder(p);
  const n = order.length;
  let k = 0;
  while (k < n) {
    const s = p[order[k]!]!;
    let gPos = 0;
    let gNeg = 0;
    if (Number.isNaN(s)) {
      if (y[order[k]!]) gPos = 1;
      else gNeg = 1;
      k++;
    } else {
      while (k < n && p[order[k]!] === s) {
        if (y[order[k]!]) gPos++;
        else gNeg++;
        k++;
      }
    }
    visit(gPos, gNeg, s);
  }
}
