import { featureDeclaration, SPLITS, type Split } from '@bolsillo/schema';
import { scoreColumn } from './encode';
import { column, StringColumn, type Frame } from './frame';
import { hashRows } from './row-hash';
import type { BuildParams } from './params';
import { TARGET_SOURCES } from './target';

/** Which leakage check raised a flag. */
export type LeakageCheck = 'target_source' | 'single_feature_power' | 'not_known_before';

/** Leakage findings of one feature. */
export interface FeatureLeakage {
  readonly feature: string;
  readonly flags: { check: LeakageCheck; detail: string }[];
  /** Single-feature ROC AUC on train, folded to ≥ 0.5 (direction does not matter). */
  readonly train_auc: number | null;
  readonly in_model: boolean;
  /** Reason from the params allow-list, when the feature is flagged but allowed. */
  readonly allowed_reason: string | null;
  /** Flagged, in the model feature list and not allowed: fails the build. */
  readonly blocking: boolean;
}

/** `leakage.json`. */
export interface LeakageReport {
  readonly target_sources: readonly string[];
  readonly max_single_feature_auc: number;
  readonly features: FeatureLeakage[];
  readonly flagged: string[];
  /** (c) groups present in more than one split. */
  readonly entity_overlap: { groups: number; examples: string[]; blocking: boolean; note: string };
  /** (d) identical feature rows found in different splits. */
  readonly identical_rows_across_splits: { rows: number; examples: string[] };
  /**
   * Train rows the single-feature AUCs were computed on: every train row, or a seeded uniform
   * sample of them when train is larger than the cap (`seed` is null when not sampled).
   */
  readonly auc_rows: { rows: number; train_rows: number; seed: number | null };
  readonly passed: boolean;
  readonly failures: string[];
}

/**
 * ROC AUC (ties count half), bit for bit what core's `rocAuc` returns, but from two native sorts of
 * the positives' and negatives' scores instead of one comparator sort of every index: the same
 * tie groups are visited in the same order (highest score first), so the sum is the same.
 */
export function rocAucSorted(y: Int8Array, scores: Float64Array): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) if (y[i]) pos++;
  const neg = y.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  const p = new Float64Array(pos);
  const q = new Float64Array(neg);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    if (y[i]) p[a++] = scores[i]!;
    else q[b++] = scores[i]!;
  }
  p.sort();
  q.sort();
  let a = pos - 1;
  let b = neg - 1;
  let auc = 0;
  let posAbove = 0;
  while (a >= 0 || b >= 0) {
    // The next tie group: the largest remaining score; -0 and 0 are one group, as with ===.
    const v = a < 0 ? q[b]! : b < 0 ? p[a]! : Math.max(p[a]!, q[b]!);
    let gPos = 0;
    let gNeg = 0;
    while (a >= 0 && p[a] === v) {
      gPos++;
      a--;
    }
    while (b >= 0 && q[b] === v) {
      gNeg++;
      b--;
    }
    auc += gNeg * (posAbove + gPos / 2);
    posAbove += gPos;
  }
  return auc / (pos * neg);
}

/**
 * Leakage checks: (a) features computed from the target's source columns, (b) single-feature
 * predictive power on train above the threshold, (c) entities present in two splits, (d) identical
 * rows across splits, (e) features not known before the transaction. A flagged feature in the model
 * feature list fails the check unless the params allow it with a reason; (c) fails it for group splits.
 * `split` is one split per row, as names or as indices into `SPLITS`. (b) uses every train row
 * unless `sample` gives a subset of them (ascending row indices) and the seed that drew it.
 */
export function checkLeakage(
  frame: Frame,
  y: Int8Array,
  split: readonly Split[] | Uint8Array,
  features: readonly string[],
  modelFeatures: readonly string[],
  params: BuildParams['leakage'],
  strategy: BuildParams['split']['strategy'],
  sample?: { readonly rows: ArrayLike<number>; readonly seed: number },
): LeakageReport {
  const codes = split instanceof Uint8Array ? split : Uint8Array.from(split, (s) => SPLITS.indexOf(s));
  const TRAIN = SPLITS.indexOf('train');
  let trainTotal = 0;
  for (let i = 0; i < frame.length; i++) if (codes[i] === TRAIN) trainTotal++;
  let trainRows: ArrayLike<number>;
  if (sample) trainRows = sample.rows;
  else {
    const all = new Uint32Array(trainTotal);
    for (let i = 0, k = 0; i < frame.length; i++) if (codes[i] === TRAIN) all[k++] = i;
    trainRows = all;
  }
  const yTrain = Int8Array.from(trainRows, (i) => y[i]!);
  const inModel = new Set(modelFeatures);
  const sources = new Set<string>(TARGET_SOURCES);
  const report: FeatureLeakage[] = features.map((name) => {
    const decl = featureDeclaration(name);
    if (!decl) throw new Error(`leakage: "${name}" is not a declared feature`);
    const flags: FeatureLeakage['flags'] = [];
    const overlap = decl.sources.filter((s) => sources.has(s));
    if (overlap.length) flags.push({ check: 'target_source', detail: `computed from target source column(s) ${overlap.join(', ')}` });
    const scores = scoreColumn(column(frame, name), decl.dtype, y, trainRows);
    let m = 0;
    const yKeep = new Int8Array(scores.length);
    const sKeep = new Float64Array(scores.length);
    for (let k = 0; k < scores.length; k++) {
      if (!Number.isFinite(scores[k]!)) continue;
      yKeep[m] = yTrain[k]!;
      sKeep[m++] = scores[k]!;
    }
    const aucRaw = rocAucSorted(yKeep.subarray(0, m), sKeep.subarray(0, m));
    const auc = Number.isFinite(aucRaw) ? Math.max(aucRaw, 1 - aucRaw) : null;
    if (auc !== null && auc > params.max_single_feature_auc) {
      flags.push({ check: 'single_feature_power', detail: `alone reaches AUC ${auc.toFixed(3)} on train (> ${params.max_single_feature_auc})` });
    }
    if (!decl.knownBeforeTransaction) flags.push({ check: 'not_known_before', detail: 'declared as not known before the transaction' });
    const allowed = flags.length ? (params.allow[name] ?? null) : null;
    return {
      feature: name,
      flags,
      train_auc: auc,
      in_model: inModel.has(name),
      allowed_reason: allowed,
      blocking: flags.length > 0 && inModel.has(name) && allowed === null,
    };
  });

  const groups = column(frame, 'customer_key');
  // One bit per split for each group: codes when the column is dictionary-coded, else a map.
  const maskOf = new Map<string, number>();
  if (groups instanceof StringColumn) {
    const mask = new Uint8Array(groups.dict.length);
    let nullMask = 0;
    for (let i = 0; i < frame.length; i++) {
      const c = groups.codes[i]!;
      if (c < 0) nullMask |= 1 << codes[i]!;
      else mask[c]! |= 1 << codes[i]!;
    }
    groups.dict.forEach((g, c) => mask[c] && maskOf.set(g, (maskOf.get(g) ?? 0) | mask[c]!));
    if (nullMask) maskOf.set('null', (maskOf.get('null') ?? 0) | nullMask);
  } else {
    for (let i = 0; i < frame.length; i++) {
      const g = String(groups.get(i));
      maskOf.set(g, (maskOf.get(g) ?? 0) | (1 << codes[i]!));
    }
  }
  const bits = (x: number) => (x & 1) + ((x >> 1) & 1) + ((x >> 2) & 1) + ((x >> 3) & 1);
  const shared = [...maskOf].filter(([, m]) => bits(m) > 1).map(([g]) => g).sort();
  const overlapBlocks = strategy === 'group' && shared.length > 0;

  // Identical rows: the model features' values; the same values under two splits make test scores optimistic.
  // Rows are grouped by a 64-bit fingerprint of their values (sorted; first occurrence first), so
  // no map of row strings is held; a row counts when its split differs from the first occurrence's.
  const cols = modelFeatures.map((f) => column(frame, f));
  const { order, hi, lo } = hashRows(cols, frame.length);
  let identical = 0;
  // Only the five earliest flagged rows are reported: keep those, not every flagged row.
  const flagged: number[] = [];
  let first = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (k === 0 || hi[i] !== hi[order[k - 1]!] || lo[i] !== lo[order[k - 1]!]) first = i;
    else if (codes[first] !== codes[i]) {
      identical++;
      if (flagged.length < 5 || i < flagged[4]!) {
        flagged.push(i);
        flagged.sort((a, b) => a - b);
        if (flagged.length > 5) flagged.pop();
      }
    }
  }
  const txn = column(frame, 'txn_id');
  const examples = flagged.map((i) => String(txn.get(i)));

  const failures = [
    ...report.filter((f) => f.blocking).map((f) => `${f.feature}: ${f.flags.map((x) => x.detail).join('; ')} (in the model feature list and not allowed in params)`),
    ...(overlapBlocks ? [`${shared.length} group(s) present in more than one split`] : []),
  ];
  return {
    target_sources: [...TARGET_SOURCES],
    max_single_feature_auc: params.max_single_feature_auc,
    features: report,
    flagged: report.filter((f) => f.flags.length).map((f) => f.feature),
    entity_overlap: {
      groups: shared.length,
      examples: shared.slice(0, 5),
      blocking: overlapBlocks,
      note: strategy === 'group' ? 'group splits: any overlap fails the build' : 'time splits: customers recur across periods by design; reported only',
    },
    identical_rows_across_splits: { rows: identical, examples },
    auc_rows: { rows: trainRows.length, train_rows: trainTotal, seed: sample && trainRows.length < trainTotal ? sample.seed : null },
    passed: failures.length === 0,
    failures,
  };
}
