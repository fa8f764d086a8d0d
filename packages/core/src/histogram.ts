/**
 * Histogram bin of `x` for bin edges `edges` (length bins + 1): bin i is [e_i, e_{i+1}); the first bin is
 * open below and the last open above (numpy's convention with open ends, the last bin including its upper
 * edge), so values outside the edges still land in a bin. One bin (or none) gives 0; NaN gives 0.
 */
export function binIndex(edges: readonly number[], x: number): number {
  const bins = edges.length - 1;
  if (bins <= 1) return 0;
  // Largest i in [0, bins-1] with edges[i] <= x, searching interior edges only.
  let lo = 0;
  let hi = bins - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x >= edges[mid]!) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
