import { FEATURE_DECLARATIONS, FEATURE_NAMES, TARGET, type FeatureDeclaration, type Profile } from '@bolsillo/schema';
import { reorderInPlace, type Frame } from './frame';
import { checkLeakage, type LeakageReport } from './leakage';
import { assembleMaster, canonicalOrder, contentHash } from './master';
import type { BuildParams } from './params';
import { profileColumns } from './profile';
import { defaultSuite, qualityFailureMessage, runSuite, type QualityReport } from './quality';
import { selectFeatures, type Selection } from './selection';
import { assignSplits, type SplitSummary } from './splits';
import { computeTarget } from './target';

/** What {@link buildMaster} needs besides the data and params: the freshness reference date. */
export interface BuildContext {
  /** Date the newest partition's freshness is measured against (`YYYY-MM-DD`). */
  readonly asOf: string;
}

/** Target bookkeeping written to the manifest and report. */
export interface TargetSummary {
  readonly name: string;
  readonly threshold: number;
  readonly essential_groups: readonly string[];
  readonly rows_in: number;
  readonly rows_out: number;
  readonly positives: number;
  readonly negatives: number;
  readonly prevalence: number;
  readonly excluded: { total: number; missing_ratio: number; no_credit_limit: number };
  readonly positives_rounded_rule: number;
}

/** Everything the build stage produces, before it is written. */
export interface BuildOutput {
  readonly master: Frame;
  readonly contentHash: string;
  readonly target: TargetSummary;
  readonly quality: QualityReport;
  readonly splits: SplitSummary;
  readonly selection: Selection;
  readonly leakage: LeakageReport;
  /** Profile of every feature and the target over the master table; `created_from` is the content hash. */
  readonly profile: Profile;
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
  const quality = runSuite(input, defaultSuite(params.quality, ctx.asOf));
  if (!quality.success) throw new BuildError(qualityFailureMessage(quality), quality);

  const t = computeTarget(input, params.target);
  const order = canonicalOrder(input, (i) => t.values[i]! >= 0);
  const rowsIn = input.length;
  // The input is consumed: reordered column by column, so the build never holds two copies.
  const features = reorderInPlace(input, order);
  const y = Int8Array.from(order, (i) => t.values[i]!);
  const keyCol = features.columns.customer_key!;
  const dateCol = features.columns.date!;
  const group = Array.from({ length: features.length }, (_, i) => String(keyCol.get(i)));
  const date = Array.from({ length: features.length }, (_, i) => String(dateCol.get(i)));
  const { split, fold, summary } = assignSplits(group, date, y, params.split);

  const unknown = params.model_features.filter((f) => !FEATURE_NAMES.includes(f as never));
  if (unknown.length) throw new BuildError(`params model_features names undeclared feature(s): ${unknown.join(', ')}`);
  const trainRows: number[] = [];
  for (let i = 0; i < split.length; i++) if (split[i] === 'train') trainRows.push(i);
  const selection = selectFeatures(features, y, trainRows, params.model_features, params.selection);
  const leakage = checkLeakage(features, y, split, FEATURE_NAMES, selection.features, params.leakage, params.split.strategy);
  if (!leakage.passed) throw new BuildError(`leakage check failed: ${leakage.failures.join('; ')}`, quality, leakage);

  const master = assembleMaster(features, y, split, fold);
  const hash = contentHash(master);
  const decls = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];
  const kinds: Record<string, 'numeric' | 'categorical'> = Object.fromEntries(
    decls.map((d) => [d.name, d.dtype === 'number' || d.dtype === 'integer' ? 'numeric' : 'categorical']),
  );
  kinds[TARGET] = 'categorical';
  const profile = profileColumns(master.columns, kinds, params.profile.bins, hash);
  return {
    master,
    contentHash: hash,
    target: {
      name: TARGET,
      threshold: params.target.threshold,
      essential_groups: params.target.essential_groups,
      rows_in: rowsIn,
      rows_out: master.length,
      positives: t.positives,
      negatives: t.negatives,
      prevalence: master.length ? t.positives / master.length : 0,
      excluded: t.excluded,
      positives_rounded_rule: t.positives_rounded_rule,
    },
    quality,
    splits: summary,
    selection,
    leakage,
    profile,
  };
}
