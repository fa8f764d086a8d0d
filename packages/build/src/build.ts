import { Reservoir } from '@bolsillo/core';
import {
  FEATURE_DECLARATIONS,
  FEATURE_NAMES,
  FLAG,
  SPLITS,
  TARGET,
  type FeatureDeclaration,
  type FlagSummary,
  type Profile,
  type TargetSummary,
} from '@bolsillo/schema';

export type { FlagSummary, TargetSummary };
import { column, reorderInPlace, StringColumn, type Column, type Frame } from './frame';
import { checkLeakage, type LeakageReport } from './leakage';
import { assembleMaster, canonicalOrder, contentHash } from './master';
import type { BuildParams } from './params';
import { profileColumns } from './profile';
import { defaultSuite, qualityFailureMessage, runSuite, type QualityReport } from './quality';
import { selectFeatures, type Selection } from './selection';
import { assignSplitsCoded, dropUnassigned, encodeStrings, type Coded, type SplitSummary } from './splits';
import { computeFlag, forecastTarget } from './target';

/** What {@link buildMaster} needs besides the data and params: the freshness reference date. */
export interface BuildContext {
  /** Date the newest partition's freshness is measured against (`YYYY-MM-DD`). */
  readonly asOf: string;
  /** Called as each step starts (progress and memory logging; the logic never depends on it). */
  readonly onStep?: (step: string) => void;
}

/** What the build stage writes besides the master table's rows: its size, hash and reports. */
export interface BuildReports {
  /** Rows of the master table. */
  readonly rows: number;
  readonly contentHash: string;
  readonly target: TargetSummary;
  readonly quality: QualityReport;
  readonly splits: SplitSummary;
  readonly selection: Selection;
  readonly leakage: LeakageReport;
  /** Profile of every feature and the target over the master table; `created_from` is the content hash. */
  readonly profile: Profile;
}

/** Everything the build stage produces, before it is written. */
export interface BuildOutput extends BuildReports {
  readonly master: Frame;
}

/** Train rows selection and the leakage AUCs use at most, when params do not say. */
export const DEFAULT_SELECTION_MAX_ROWS = 1_000_000;

/** A column as dictionary codes: string columns share theirs, anything else is interned as text. */
function coded(col: Column): Coded {
  if (col instanceof StringColumn && col.codes.every((c) => c >= 0)) return { codes: col.codes, dict: col.dict };
  return encodeStrings(Array.from({ length: col.length }, (_, i) => String(col.get(i))));
}

/**
 * Ascending indices of the rows whose split code is `code`: all of them when there are at most
 * `max`, else a seeded uniform sample of exactly `max` (reservoir sampling in row order).
 */
export function sampleRows(split: Uint8Array, code: number, max: number, seed: number): Uint32Array {
  const sample = new Reservoir<number>(max, seed);
  for (let i = 0; i < split.length; i++) if (split[i] === code) sample.offer(i);
  return Uint32Array.from(sample.items).sort();
}

/** Thrown when the build must stop; `quality`/`leakage` carry the report that explains why. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly quality?: QualityReport,
    readonly leakage?: LeakageReport,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

/**
 * The build stage as one pure function: quality suite → target → canonical order → splits and
 * folds → feature selection (train only) → leakage check → profile → master table and its hash.
 * Throws a {@link BuildError} when an `error` expectation fails or the leakage check fails.
 * The input frame is consumed (its columns are reordered in place to save memory).
 */
export function buildMaster(input: Frame, params: BuildParams, ctx: BuildContext): BuildOutput {
  const step = ctx.onStep ?? (() => undefined);
  step('quality');
  const quality = runSuite(input, defaultSuite(params.quality, ctx.asOf));
  if (!quality.success) throw new BuildError(qualityFailureMessage(quality), quality);
  return finishMaster(labelSnapshots(input, params, step), quality, params, ctx);
}

/**
 * The labelled snapshots of some transactions (all of them, or a shard's customers), in canonical
 * order, with the counts their flag and target summaries add up from.
 */
export interface LabelledSnapshots {
  /** Feature rows of the snapshots with a known outcome, in canonical order. */
  readonly features: Frame;
  /** Their target (0 or 1). */
  readonly y: Int8Array;
  /** Transactions read. */
  readonly rowsIn: number;
  readonly flag: Omit<FlagSummary, 'name' | 'threshold' | 'essential_groups' | 'rows'>;
  readonly target: Pick<TargetSummary, 'horizon_days' | 'snapshots' | 'censored' | 'data_end'>;
}

/**
 * Flag every transaction, label the snapshots (forecast target) and keep those with a known outcome
 * in canonical order. The input is consumed (reordered in place). `dataEnd` is the last date of the
 * whole data when `input` is a shard's part of it.
 */
export function labelSnapshots(
  input: Frame,
  params: BuildParams,
  step: (name: string) => void = () => undefined,
  dataEnd?: string,
): LabelledSnapshots {
  step('flag, snapshots and forecast target');
  const flag = computeFlag(input, params.target);
  const t = forecastTarget(input, flag.values, params.target.horizon_days, dataEnd);
  step('canonical order');
  const order = canonicalOrder(input, (i) => t.values[i]! >= 0);
  const rowsIn = input.length;
  // The input is consumed: reordered column by column, so the build never holds two copies.
  const features = reorderInPlace(input, order);
  const y = Int8Array.from(order, (i) => t.values[i]!);
  return {
    features,
    y,
    rowsIn,
    flag: {
      flagged: flag.flagged,
      not_flagged: flag.not_flagged,
      excluded: flag.excluded,
      positives_rounded_rule: flag.positives_rounded_rule,
    },
    target: { horizon_days: t.horizon_days, snapshots: t.snapshots, censored: t.censored, data_end: t.data_end },
  };
}

/**
 * The rest of the build from the labelled snapshots in canonical order (of all customers) and the
 * quality report: splits and folds → feature selection (train only) → leakage check → master table,
 * its hash and profile. Throws a {@link BuildError} when the leakage check fails.
 */
export function finishMaster(
  labelled: LabelledSnapshots,
  quality: QualityReport,
  params: BuildParams,
  ctx: BuildContext,
): BuildOutput {
  const step = ctx.onStep ?? (() => undefined);
  const { features: featuresAll, y: yAll } = labelled;
  step('splits');
  const horizon = params.target.horizon_days;
  const assigned = assignSplitsCoded(
    coded(column(featuresAll, 'customer_key')),
    coded(column(featuresAll, 'date')),
    yAll,
    params.split,
    horizon,
  );
  // Rows in no split (time gaps, group_time's off-diagonal) leave the master table.
  const { frame: features, y, split, fold, summary } = dropUnassigned(featuresAll, yAll, assigned, reorderInPlace);

  checkModelFeatures(params);
  // Selection and the leakage AUCs see at most `max_rows` train rows (a seeded uniform sample).
  const train = trainSample(split, params);
  step('selection');
  const selection = selectFeatures(features, y, train.rows, params.model_features, params.selection, {
    trainRows: train.total,
    seed: train.seed,
  });
  step('leakage');
  const leakage = checkLeakage(
    features,
    y,
    split,
    FEATURE_NAMES,
    selection.features,
    params.leakage,
    params.split.strategy,
    { sample: { rows: train.rows, seed: train.seed }, horizonDays: horizon },
  );
  if (!leakage.passed) throw new BuildError(`leakage check failed: ${leakage.failures.join('; ')}`, quality, leakage);

  step('content hash');
  const master = assembleMaster(features, y, split, fold);
  const hash = contentHash(master);
  step('profile');
  const profile = profileColumns(master.columns, profileKinds(), params.profile.bins, hash);
  return {
    master,
    rows: master.length,
    contentHash: hash,
    target: targetSummary(labelled, params, y, coded(column(features, 'customer_key')).codes),
    quality,
    splits: summary,
    selection,
    leakage,
    profile,
  };
}

/** Throws when params name a model feature the schema does not declare. */
export function checkModelFeatures(params: BuildParams): void {
  const unknown = params.model_features.filter((f) => !FEATURE_NAMES.includes(f as never));
  if (unknown.length) throw new BuildError(`params model_features names undeclared feature(s): ${unknown.join(', ')}`);
}

/**
 * The train rows selection and the leakage AUCs see (`rows`, ascending): at most `max_rows`, a
 * seeded uniform sample when there are more; `total` train rows in all.
 */
export function trainSample(
  split: Uint8Array,
  params: BuildParams,
): { rows: Uint32Array; total: number; seed: number } {
  const maxRows = params.selection.max_rows ?? DEFAULT_SELECTION_MAX_ROWS;
  const seed = params.split.seed + 2;
  const TRAIN = SPLITS.indexOf('train');
  let total = 0;
  for (let i = 0; i < split.length; i++) if (split[i] === TRAIN) total++;
  return { rows: sampleRows(split, TRAIN, maxRows, seed), total, seed };
}

/** The master table's profiled columns and their kinds: every declared feature, and the target. */
export function profileKinds(): Record<string, 'numeric' | 'categorical'> {
  const decls = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];
  const kinds: Record<string, 'numeric' | 'categorical'> = Object.fromEntries(
    decls.map((d) => [d.name, d.dtype === 'number' || d.dtype === 'integer' ? 'numeric' : 'categorical']),
  );
  kinds[TARGET] = 'categorical';
  return kinds;
}

/** The target summary of the master table: its target `y` and customer codes, and the labelling counts. */
export function targetSummary(
  labelled: Pick<LabelledSnapshots, 'rowsIn' | 'flag' | 'target'>,
  params: BuildParams,
  y: Int8Array,
  customerCodes: Int32Array,
): TargetSummary {
  const { rowsIn, flag, target: t } = labelled;
  const customers = new Set<number>();
  const positiveCustomers = new Set<number>();
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    customers.add(customerCodes[i]!);
    if (y[i] === 1) {
      positives++;
      positiveCustomers.add(customerCodes[i]!);
    }
  }
  const rows = y.length;
  return {
    name: TARGET,
    horizon_days: t.horizon_days,
    rows_in: rowsIn,
    snapshots: t.snapshots,
    censored: t.censored,
    rows_out: rows,
    positives,
    negatives: rows - positives,
    prevalence: rows ? positives / rows : 0,
    customers: customers.size,
    positive_customers: positiveCustomers.size,
    data_end: t.data_end,
    flag: {
      name: FLAG,
      threshold: params.target.threshold,
      essential_groups: params.target.essential_groups,
      rows: rowsIn,
      flagged: flag.flagged,
      not_flagged: flag.not_flagged,
      excluded: flag.excluded,
      positives_rounded_rule: flag.positives_rounded_rule,
    },
  };
}
