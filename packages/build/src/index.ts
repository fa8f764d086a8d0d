/**
 * @packageDocumentation
 * The build stage: from the offline feature store to a reproducible master table — target,
 * data-quality suite, distribution profile, leakage check, feature selection, entity groups,
 * group-aware splits and CV folds, content hash and manifest.
 */
/** Pure orchestration of the whole stage; throws {@link BuildError} when quality or leakage fails. */
export { buildMaster, BuildError, sampleRows, DEFAULT_SELECTION_MAX_ROWS } from './build';
export type { BuildContext, BuildOutput, TargetSummary, FlagSummary } from './build';
/** I/O adapter behind the CLI: reads `feature-store/`, writes `master/<hash>/` and `master/latest.json`. */
export { runBuild, buildSourceHash, checkFlagRule, DEFAULT_PARAMS_FILE } from './run';
export { masterChunks, masterHash, masterManifest, writeMasterFolder } from './build-outputs';
export type { ManifestContext } from './build-outputs';
export { featureStorePartitions, readFeatureStore } from './read-feature-store';
export type { FeatureStoreInput } from './read-feature-store';
export type { RunBuildOptions } from './run';
export { BuildParamsSchema } from './params';
export type { BuildParams } from './params';
export { computeFlag, forecastTarget, roundHalfEven, TARGET_SOURCES } from './target';
export type { FlagResult, ForecastTarget } from './target';
export { runSuite, defaultSuite, expectationId, qualityFailureMessage, qualityWarningsMessage } from './quality';
export type { Expectation, ExpectationResult, QualityReport, Severity } from './quality';
export { profileColumns, profileNumeric, profileCategorical, quantileEdges } from './profile';
export { checkLeakage } from './leakage';
export type { LeakageReport, FeatureLeakage, LeakageCheck, LeakageOptions } from './leakage';
export { selectFeatures } from './selection';
export type { Selection, SelectionDecision } from './selection';
export { measureIdentityProxies, customerShare } from './identity';
export type { IdentityReport, IdentityCandidate, IdentityRound, IdentityParams } from './identity';
export { assignSplits, assignSplitsCoded, assignGroups, dropUnassigned, encodeStrings, UNASSIGNED } from './splits';
export type { SplitAssignment, SplitSummary, SplitStrategy, CodedSplitAssignment, Coded } from './splits';
export { assembleMaster, canonicalOrder, contentHash, MASTER_COLUMNS } from './master';
export {
  frameFromTable,
  frameFromRows,
  concatFrames,
  takeRows,
  reorderInPlace,
  columnFromCells,
  cellsOf,
  cellReader,
  FrameBuilder,
  NumberColumn,
  BooleanColumn,
  StringColumn,
  Utf8Column,
} from './frame';
export type { FrameBuilderOptions } from './frame';
export type { Frame, Cell, Column, CellSource } from './frame';
export { hashRows } from './row-hash';
export { renderBuildReport } from './report';
export { tableFromTypedColumns, directlyConvertible } from './arrow-chunks';
