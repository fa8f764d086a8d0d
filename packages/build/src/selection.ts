import { featureDeclaration, type Selection as SelectionRecord, type SelectionDecision } from '@bolsillo/schema';
import { discretise, mutualInformation, pearson, toNumeric } from './encode';
import { cellReader, column, type Cell, type CellSource, type Frame } from './frame';
import { measureIdentityProxies, type IdentityReport } from './identity';

export type { SelectionDecision };

/** `selection.json` (the `Selection` contract), with the identity step's params typed. */
export type Selection = Omit<SelectionRecord, 'identity'> & { readonly identity?: IdentityReport | null };
import { hashRows } from './row-hash';
import type { BuildParams } from './params';

const fmtSigned = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;

function topShare(values: CellSource, rows: ArrayLike<number>): { distinct: number; share: number; value: Cell } {
  // Keyed by the cell itself; non-finite numbers count as null, exactly as their JSON text would.
  const counts = new Map<Cell, number>();
  const at = cellReader(values);
  for (let k = 0; k < rows.length; k++) {
    const v = at(rows[k]!);
    const key = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let best: Cell = null;
  let bestN = 0;
  for (const [k, c] of counts) if (c > bestN) [best, bestN] = [k, c];
  return { distinct: counts.size, share: rows.length ? bestN / rows.length : 1, value: rows.length ? best : null };
}

/** Fingerprint of a column's values on `rows`, in order (a hash of one column over the listed rows). */
function fingerprint(values: CellSource, rows: ArrayLike<number>): string {
  const at = cellReader(values);
  const col = { kind: 'number' as const, length: rows.length, get: (k: number) => at(rows[k]!), take: () => col };
  // hashRows fingerprints each row; fold those in order into one value.
  const { hi, lo } = hashRows([col], rows.length, false);
  let a = 0x811c9dc5;
  let b = 0x1234567;
  for (let k = 0; k < rows.length; k++) {
    a = Math.imul(a ^ hi[k]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ lo[k]!, 0x01000193) >>> 0;
  }
  return `${a.toString(16)}:${b.toString(16)}:${rows.length}`;
}

function sameOnRows(a: CellSource, b: CellSource, rows: ArrayLike<number>): boolean {
  const x = cellReader(a);
  const y = cellReader(b);
  for (let k = 0; k < rows.length; k++) if (x(rows[k]!) !== y(rows[k]!)) return false;
  return true;
}

/**
 * Feature selection on the training rows: drop constant and near-constant features, exact
 * duplicates of an earlier feature, and one of each highly correlated pair (the less informative
 * one); then identity proxies, measured (customer attributes that do not help grouped CV, see
 * {@link measureIdentityProxies}); rank the rest by mutual information with the target.
 * Candidates are processed in the params order, so "duplicate of X" always names a feature that was kept.
 * `trainRows` may be a seeded sample of train (`sample` says how many train rows there were and the
 * seed), which bounds the memory of the per-feature copies at any table size.
 */
export function selectFeatures(
  frame: Frame,
  y: Int8Array,
  trainRows: ArrayLike<number>,
  candidates: readonly string[],
  params: BuildParams['selection'],
  sample?: { readonly trainRows: number; readonly seed: number },
): Selection {
  const mi = new Map<string, number>();
  const identityKept = new Map<string, string>();
  for (const name of candidates) {
    const decl = featureDeclaration(name);
    if (!decl) throw new Error(`selection: "${name}" is not a declared feature`);
    mi.set(
      name,
      mutualInformation(discretise(column(frame, name), decl.dtype, trainRows, params.mi_bins), y, trainRows),
    );
  }
  const dropped = new Map<string, string>();
  const kept: string[] = [];
  const numeric = new Map<string, Float64Array>();
  const fingerprints = new Map<string, string[]>();
  for (const name of candidates) {
    const decl = featureDeclaration(name)!;
    const values = column(frame, name);
    const top = topShare(values, trainRows);
    if (top.distinct <= 1) {
      dropped.set(name, `constant on train (always ${JSON.stringify(top.value)})`);
      continue;
    }
    if (top.share >= params.near_constant_share) {
      dropped.set(
        name,
        `near-constant on train: ${JSON.stringify(top.value)} in ${(100 * top.share).toFixed(2)}% of rows (≥ ${(100 * params.near_constant_share).toFixed(2)}%)`,
      );
      continue;
    }
    // A 64-bit fingerprint of the train values finds twin candidates; an exact comparison confirms.
    const fp = fingerprint(values, trainRows);
    const twin = (fingerprints.get(fp) ?? []).find((other) => sameOnRows(column(frame, other), values, trainRows));
    if (twin) {
      dropped.set(name, `duplicate of ${twin} (identical values on train)`);
      continue;
    }
    fingerprints.set(fp, [...(fingerprints.get(fp) ?? []), name]);
    kept.push(name);
    if (decl.dtype !== 'category') numeric.set(name, toNumeric(values, trainRows));
  }
  // Correlated pairs: visit the most correlated first and drop the less informative member.
  const pairs: { a: string; b: string; r: number }[] = [];
  const nums = kept.filter((k) => numeric.has(k));
  for (let i = 0; i < nums.length; i++) {
    for (let j = i + 1; j < nums.length; j++) {
      const r = pearson(numeric.get(nums[i]!)!, numeric.get(nums[j]!)!);
      if (Number.isFinite(r) && Math.abs(r) > params.max_abs_correlation) pairs.push({ a: nums[i]!, b: nums[j]!, r });
    }
  }
  pairs.sort((p, q) => Math.abs(q.r) - Math.abs(p.r));
  for (const { a, b, r } of pairs) {
    if (dropped.has(a) || dropped.has(b)) continue;
    const [lose, win] = mi.get(a)! >= mi.get(b)! ? [b, a] : [a, b];
    dropped.set(
      lose,
      `highly correlated with ${win} (r = ${r.toFixed(3)}, |r| > ${params.max_abs_correlation}); ${win} has more mutual information`,
    );
  }
  // Identity proxies: customer attributes that do not help a model on customers it has not seen.
  const identity = params.identity
    ? measureIdentityProxies(
        frame,
        y,
        trainRows,
        kept.filter((k) => !dropped.has(k)),
        params.identity,
      )
    : null;
  for (const c of identity?.candidates ?? []) {
    const share = `${c.measure === 'eta_squared' ? 'eta²' : 'lambda'} ${c.customer_share.toFixed(3)} by customer`;
    const folds = `${c.folds_better_without}/${c.folds} folds better without it`;
    if (c.action === 'drop') {
      dropped.set(
        c.feature,
        `identity proxy (${share}): removing it changes grouped-CV PR-AUC by ${fmtSigned(-c.delta_pr_auc!)} (± ${c.delta_sd!.toFixed(4)} sd over folds, ${folds}; round ${c.round}): no loss beyond ${params.identity!.min_gain} + ${params.identity!.min_gain_z} standard errors`,
      );
    } else if (c.action === 'keep') {
      identityKept.set(
        c.feature,
        `; identity-proxy candidate (${share}) kept: removing it costs ${c.delta_pr_auc!.toFixed(4)} grouped-CV PR-AUC (± ${c.delta_sd!.toFixed(4)}, ${folds})`,
      );
    }
  }
  const final = kept.filter((k) => !dropped.has(k)).sort((a, b) => mi.get(b)! - mi.get(a)! || (a < b ? -1 : 1));
  const rank = new Map(final.map((f, i) => [f, i + 1]));
  return {
    features: final,
    fitted_on: 'train',
    rows: trainRows.length,
    train_rows: sample?.trainRows ?? trainRows.length,
    sample_seed: sample && sample.trainRows > trainRows.length ? sample.seed : null,
    identity,
    decisions: candidates.map((name) => ({
      feature: name,
      action: dropped.has(name) ? 'drop' : 'keep',
      reason:
        dropped.get(name) ??
        `kept: mutual information ${mi.get(name)!.toFixed(4)} bits, rank ${rank.get(name)}${identityKept.get(name) ?? ''}`,
      mutual_information: mi.get(name)!,
      rank: rank.get(name) ?? null,
    })),
  };
}
