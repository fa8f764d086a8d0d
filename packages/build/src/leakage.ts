import {
  featureDeclaration,
  SPLITS,
  type FeatureDeclaration,
  type FeatureLeakage,
  type LeakageCheck,
  type LeakageReport,
  type Split,
} from '@bolsillo/schema';

export type { FeatureLeakage, LeakageCheck, LeakageReport };
import { scoreColumn } from './encode';
import { column, StringColumn, type Column, type Frame } from './frame';
import { hashRows, repeatedFingerprintRows } from './row-hash';
import type { BuildParams } from './params';
import type { Coded, Codes } from './splits';
import { TARGET_SOURCES } from './target';

/** Checks whose flag blocks a model feature whatever the allow-list says: the feature reads the future. */
const NEVER_ALLOWED: ReadonlySet<LeakageCheck> = new Set(['not_known_before', 'target_source']);

/** Options of {@link checkLeakage}. */
export interface LeakageOptions {
  /** (b) uses every train row unless this gives a subset of them (ascending row indices) and the seed that drew it. */
  readonly sample?: { readonly rows: ArrayLike<number>; readonly seed: number };
  /** The target's horizon H: enables the target window and (f), the label-window check. */
  readonly horizonDays?: number;
  /** Feature declarations (default: the schema's); tests use it to declare a feature that reads the future. */
  readonly declaration?: (
    name: string,
  ) => Pick<FeatureDeclaration, 'dtype' | 'sources' | 'knownBeforeTransaction'> | undefined;
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
 * Leakage checks for a forecast whose target on day d reads days d+1..d+H: (a) features computed
 * from the target's source columns that are not known at the snapshot (they could read the label
 * window; read up to day d only, the same columns are legitimate and only noted), (b) single-feature
 * predictive power on train above the threshold, (c) entities present in two splits, (d) identical
 * rows across splits, (e) features not known at the snapshot, (f) label windows of a split reaching
 * into a later split of the same customers (needs `horizonDays`).
 * A flagged feature in the model feature list fails the check; the params allow-list can excuse
 * (b) with a reason, never (a) or (e). (c) fails group and group_time splits, (f) fails any split.
 * `split` is one split per row, as names or as indices into `SPLITS`.
 */
export function checkLeakage(
  frame: Frame,
  y: Int8Array,
  split: readonly Split[] | Uint8Array,
  features: readonly string[],
  modelFeatures: readonly string[],
  params: BuildParams['leakage'],
  strategy: BuildParams['split']['strategy'],
  options: LeakageOptions = {},
): LeakageReport {
  const { sample } = options;
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
  const { hi, lo } = hashRows(
    modelFeatures.map((f) => column(frame, f)),
    frame.length,
    false,
  );
  const identical = identicalAcrossSplits(hi, lo, codes);
  const txn = column(frame, 'txn_id');
  return leakageReport(
    {
      split: codes,
      groups: column(frame, 'customer_key'),
      dates: column(frame, 'date'),
      train: { frame, y, rows: trainRows, total: trainTotal },
      identical: { rows: identical.rows, examples: identical.examples.map((i) => String(txn.get(i))) },
      sampleSeed: sample && trainRows.length < trainTotal ? sample.seed : null,
    },
    features,
    modelFeatures,
    params,
    strategy,
    options,
  );
}

/** What the checks over every row read: a few columns of every row, and (d)'s result. */
export interface LeakageRowChecks {
  /** Split of every row, as indices into `SPLITS`. */
  readonly split: Uint8Array;
  /** Customer key of every row. */
  readonly groups: Column;
  /** Snapshot date of every row (as a column or as dictionary codes). */
  readonly dates: Column | Coded<Codes>;
  /** (d): rows whose model-feature values equal an earlier row's under another split, ids of the first five. */
  readonly identical: { readonly rows: number; readonly examples: readonly string[] };
}

/** The train rows the single-feature AUCs use: `rows` index `frame` and `y`; `total` train rows in all. */
export interface LeakageTrainSample {
  readonly frame: Frame;
  readonly y: Int8Array;
  readonly rows: ArrayLike<number>;
  readonly total: number;
}

/**
 * What the leakage checks read, so that a build holding only a few columns of every row (and
 * every column of a train sample) runs the same checks as one holding the whole table.
 */
export interface LeakageRows extends LeakageRowChecks {
  readonly train: LeakageTrainSample;
  /** Seed of the train sample, null when the AUCs used every train row. */
  readonly sampleSeed: number | null;
}

/** {@link checkLeakage} from the columns and counts it reads ({@link LeakageRows}). */
export function leakageReport(
  rows: LeakageRows,
  features: readonly string[],
  modelFeatures: readonly string[],
  params: BuildParams['leakage'],
  strategy: BuildParams['split']['strategy'],
  options: Omit<LeakageOptions, 'sample'> = {},
): LeakageReport {
  const { train } = rows;
  return leakageVerdict(
    rows,
    featureLeakage(train, features, modelFeatures, params, options),
    { rows: train.rows.length, train_rows: train.total, seed: rows.sampleSeed },
    params,
    strategy,
    options,
  );
}

/**
 * (a), (b) and (e) for each of `features`: the checks that read the train sample, so a caller can
 * release the sample before the checks over every row ({@link leakageVerdict}).
 */
export function featureLeakage(
  train: LeakageTrainSample,
  features: readonly string[],
  modelFeatures: readonly string[],
  params: BuildParams['leakage'],
  options: Omit<LeakageOptions, 'sample'> = {},
): FeatureLeakage[] {
  const { horizonDays } = options;
  const declarationOf = options.declaration ?? featureDeclaration;
  const trainRows = train.rows;
  const yTrain = Int8Array.from(trainRows, (i) => train.y[i]!);
  const inModel = new Set(modelFeatures);
  const sources = new Set<string>(TARGET_SOURCES);
  return features.map((name) => {
    const decl = declarationOf(name);
    if (!decl) throw new Error(`leakage: "${name}" is not a declared feature`);
    const flags: FeatureLeakage['flags'] = [];
    const notes: string[] = [];
    const overlap = decl.sources.filter((s) => sources.has(s));
    if (overlap.length && !decl.knownBeforeTransaction) {
      flags.push({
        check: 'target_source',
        detail: `computed from target source column(s) ${overlap.join(', ')} and not known at the snapshot: it may read the label window`,
      });
    } else if (overlap.length) {
      notes.push(
        `reads target source column(s) ${overlap.join(', ')} up to the snapshot day only${horizonDays ? `; the target reads days d+1..d+${horizonDays}` : ''}`,
      );
    }
    const scores = scoreColumn(column(train.frame, name), decl.dtype, train.y, trainRows);
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
      flags.push({
        check: 'single_feature_power',
        detail: `alone reaches AUC ${auc.toFixed(3)} on train (> ${params.max_single_feature_auc})`,
      });
    }
    if (!decl.knownBeforeTransaction)
      flags.push({ check: 'not_known_before', detail: 'declared as not known at the snapshot (end of day d)' });
    const allowed = flags.length ? (params.allow[name] ?? null) : null;
    const future = flags.some((f) => NEVER_ALLOWED.has(f.check));
    return {
      feature: name,
      flags,
      notes,
      train_auc: auc,
      in_model: inModel.has(name),
      allowed_reason: future ? null : allowed,
      blocking: flags.length > 0 && inModel.has(name) && (future || allowed === null),
    };
  });
}

/**
 * The leakage report from the per-feature checks ({@link featureLeakage}, on `aucRows` train rows)
 * and the checks over every row: (c), (d) and (f).
 */
export function leakageVerdict(
  rows: LeakageRowChecks,
  report: readonly FeatureLeakage[],
  aucRows: LeakageReport['auc_rows'],
  params: BuildParams['leakage'],
  strategy: BuildParams['split']['strategy'],
  options: Omit<LeakageOptions, 'sample'> = {},
): LeakageReport {
  const { horizonDays } = options;
  const codes = rows.split;
  const n = codes.length;
  const groups = rows.groups;
  // One bit per split for each group: codes when the column is dictionary-coded, else a map.
  const maskOf = new Map<string, number>();
  if (groups instanceof StringColumn) {
    const mask = new Uint8Array(groups.dict.length);
    let nullMask = 0;
    for (let i = 0; i < n; i++) {
      const c = groups.codes[i]!;
      if (c < 0) nullMask |= 1 << codes[i]!;
      else mask[c]! |= 1 << codes[i]!;
    }
    groups.dict.forEach((g, c) => mask[c] && maskOf.set(g, (maskOf.get(g) ?? 0) | mask[c]!));
    if (nullMask) maskOf.set('null', (maskOf.get('null') ?? 0) | nullMask);
  } else {
    for (let i = 0; i < n; i++) {
      const g = String(groups.get(i));
      maskOf.set(g, (maskOf.get(g) ?? 0) | (1 << codes[i]!));
    }
  }
  const bits = (x: number) => (x & 1) + ((x >> 1) & 1) + ((x >> 2) & 1) + ((x >> 3) & 1);
  const shared = [...maskOf]
    .filter(([, m]) => bits(m) > 1)
    .map(([g]) => g)
    .sort();
  const overlapBlocks = strategy !== 'time' && shared.length > 0;
  const labelWindows = horizonDays === undefined ? [] : checkLabelWindows(rows.dates, codes, maskOf, horizonDays);
  const windowFailures = labelWindows.filter((w) => w.overlaps);

  const failures = [
    ...report
      .filter((f) => f.blocking)
      .map(
        (f) =>
          `${f.feature}: ${f.flags.map((x) => x.detail).join('; ')} (in the model feature list and not allowed in params)`,
      ),
    ...(overlapBlocks ? [`${shared.length} group(s) present in more than one split`] : []),
    ...windowFailures.map(
      (w) =>
        `${w.from} labels read ${w.to} days: ${w.from} ends ${w.from_last}, ${w.to} starts ${w.to_first} (${w.gap_days} days later, ≤ horizon ${horizonDays}) with ${w.shared_customers} customer(s) in both`,
    ),
  ];
  return {
    target_sources: [...TARGET_SOURCES],
    target_window: horizonDays === undefined ? null : { from_day: 1, to_day: horizonDays, horizon_days: horizonDays },
    label_windows: labelWindows,
    max_single_feature_auc: params.max_single_feature_auc,
    features: [...report],
    flagged: report.filter((f) => f.flags.length).map((f) => f.feature),
    entity_overlap: {
      groups: shared.length,
      examples: shared.slice(0, 5),
      blocking: overlapBlocks,
      note:
        strategy === 'time'
          ? 'time splits: customers recur across periods by design; reported only'
          : `${strategy} splits: any overlap fails the build`,
    },
    identical_rows_across_splits: { rows: rows.identical.rows, examples: [...rows.identical.examples] },
    auc_rows: aucRows,
    passed: failures.length === 0,
    failures,
  };
}

/**
 * (d) Identical rows: the model features' values (as row fingerprints `hi`/`lo`); the same values
 * under two splits make test scores optimistic. Rows are grouped by fingerprint (first occurrence
 * first), so no map of row strings is held; a row counts when its split differs from the first
 * occurrence's. Returns the count and the five earliest such rows (ascending).
 */
export function identicalAcrossSplits(
  hi: Uint32Array,
  lo: Uint32Array,
  split: Uint8Array,
): { rows: number; examples: number[] } {
  const order = repeatedFingerprintRows(hi, lo);
  order.sort((x, y) => hi[x]! - hi[y]! || lo[x]! - lo[y]! || x - y);
  let identical = 0;
  // Only the five earliest flagged rows are reported: keep those, not every flagged row.
  const flagged: number[] = [];
  let first = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (k === 0 || hi[i] !== hi[order[k - 1]!] || lo[i] !== lo[order[k - 1]!]) first = i;
    else if (split[first] !== split[i]) {
      identical++;
      if (flagged.length < 5 || i < flagged[4]!) {
        flagged.push(i);
        flagged.sort((a, b) => a - b);
        if (flagged.length > 5) flagged.pop();
      }
    }
  }
  return { rows: identical, examples: flagged };
}

/**
 * (f) For each ordered pair of splits sharing a customer, whether the earlier split's label windows
 * (last day + H) reach the later split's first day. Pairs are ordered by their first dates.
 */
function checkLabelWindows(
  date: Column | Coded<Codes>,
  codes: Uint8Array,
  maskOf: ReadonlyMap<string, number>,
  horizonDays: number,
): LeakageReport['label_windows'] {
  const first: (string | null)[] = SPLITS.map(() => null);
  const last: (string | null)[] = SPLITS.map(() => null);
  const coded = date instanceof StringColumn || !('get' in date) ? date : null;
  const dateAt = coded
    ? (i: number) => (coded.codes[i]! < 0 ? null : coded.dict[coded.codes[i]!]!)
    : (i: number) => {
        const v = (date as Column).get(i);
        return v === null ? null : String(v);
      };
  for (let i = 0; i < codes.length; i++) {
    const d = dateAt(i);
    const c = codes[i]!;
    if (d === null || c >= SPLITS.length) continue;
    if (first[c] === null || d < first[c]!) first[c] = d;
    if (last[c] === null || d > last[c]!) last[c] = d;
  }
  const day = (d: string) => Math.round(Date.parse(`${d.slice(0, 10)}T00:00:00Z`) / 86_400_000);
  const out: LeakageReport['label_windows'] = [];
  for (let a = 0; a < SPLITS.length; a++) {
    for (let b = 0; b < SPLITS.length; b++) {
      if (
        a === b ||
        first[a] === null ||
        first[b] === null ||
        first[a]! > first[b]! ||
        (first[a] === first[b] && a > b)
      )
        continue;
      let sharedCustomers = 0;
      for (const m of maskOf.values()) if (m & (1 << a) && m & (1 << b)) sharedCustomers++;
      if (sharedCustomers === 0) continue;
      const gap = day(first[b]!) - day(last[a]!);
      out.push({
        from: SPLITS[a]!,
        to: SPLITS[b]!,
        from_last: last[a]!,
        to_first: first[b]!,
        gap_days: gap,
        shared_customers: sharedCustomers,
        overlaps: gap <= horizonDays,
      });
    }
  }
  return out;
}
