import { rocAuc } from '@bolsillo/core';
import { featureDeclaration, type Split } from '@bolsillo/schema';
import { scoreColumn } from './encode';
import { column, type Frame } from './frame';
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
  readonly passed: boolean;
  readonly failures: string[];
}

/**
 * Leakage checks: (a) features computed from the target's source columns, (b) single-feature
 * predictive power on train above the threshold, (c) entities present in two splits, (d) identical
 * rows across splits, (e) features not known before the transaction. A flagged feature in the model
 * feature list fails the check unless the params allow it with a reason; (c) fails it for group splits.
 */
export function checkLeakage(
  frame: Frame,
  y: Int8Array,
  split: readonly Split[],
  features: readonly string[],
  modelFeatures: readonly string[],
  params: BuildParams['leakage'],
  strategy: BuildParams['split']['strategy'],
): LeakageReport {
  const trainRows: number[] = [];
  for (let i = 0; i < frame.length; i++) if (split[i] === 'train') trainRows.push(i);
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
    const keep = trainRows.map((_, k) => k).filter((k) => Number.isFinite(scores[k]!));
    const aucRaw = rocAuc(
      keep.map((k) => yTrain[k]!),
      keep.map((k) => scores[k]!),
    );
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
  const splitsOf = new Map<string, Set<Split>>();
  for (let i = 0; i < frame.length; i++) {
    const g = String(groups.get(i));
    let s = splitsOf.get(g);
    if (!s) splitsOf.set(g, (s = new Set()));
    s.add(split[i]!);
  }
  const shared = [...splitsOf].filter(([, s]) => s.size > 1).map(([g]) => g).sort();
  const overlapBlocks = strategy === 'group' && shared.length > 0;

  // Identical rows: the model features' values; the same values under two splits make test scores optimistic.
  // Rows are grouped by a 64-bit fingerprint of their values (sorted; first occurrence first), so
  // no map of row strings is held; a row counts when its split differs from the first occurrence's.
  const cols = modelFeatures.map((f) => column(frame, f));
  const { order, hi, lo } = hashRows(cols, frame.length);
  let identical = 0;
  const flagged: number[] = [];
  let first = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (k === 0 || hi[i] !== hi[order[k - 1]!] || lo[i] !== lo[order[k - 1]!]) first = i;
    else if (split[first] !== split[i]) {
      identical++;
      flagged.push(i);
    }
  }
  const txn = column(frame, 'txn_id');
  const examples = flagged
    .sort((a, b) => a - b)
    .slice(0, 5)
    .map((i) => String(txn.get(i)));

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
    passed: failures.length === 0,
    failures,
  };
}
