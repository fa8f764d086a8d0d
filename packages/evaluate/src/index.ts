/**
 * @packageDocumentation
 * The evaluate stage: metrics with bootstrap intervals against baselines and the champion, the
 * decision threshold, SVG plots, the HTML report and index, and the promotion gate.
 */
export {
  EvaluateParamsSchema,
  ValueMatrixSchema,
  FloorSchema,
  ChampionRuleSchema,
  DEFAULT_EVALUATE_PARAMS,
  DEFAULT_EVIDENCE,
  METRIC_DIRECTIONS,
  METRIC_NAMES,
} from './params';
export type { EvaluateParams, ValueMatrix, Floor, ChampionRule, MetricName } from './params';
export {
  evaluateScores,
  pairedDifference,
  pointMetrics,
  bootstrapIndices,
  resampleDesign,
  perCustomerMetrics,
  spreadOf,
  customerCounts,
} from './metrics';
export type { Estimate, MetricSet, ConfusionCounts, ResampleDesign, CustomerMetrics, Spread } from './metrics';
export { chooseThreshold, valueOf } from './threshold';
export type { Decision } from './threshold';
export { decideGate, strongestBaseline } from './gate';
export type { Verdict, GateCheck, SplitMetrics, GateInput, GateReference, StrongestBaseline, Serve } from './gate';
export { rocCurve, prCurve, liftByDecile, scoreHistogram } from './curves';
export type { Point, Decile } from './curves';
export { learningCurve, learningCurveFromCard, fitLogistic } from './learning-curve';
export type { LearningPoint } from './learning-curve';
export { evaluateCandidate, evidenceWarnings, EVAL_SPLITS } from './evaluation';
export type { Evaluation, Contender, ContenderResult, SplitLabels, EvalSplit, PerCustomer } from './evaluation';
export { renderModelReport, renderIndex, PLOT_ORDER } from './report';
export type { IndexEntry } from './report';
export { runEvaluate, runRollback, runForcePromote, DEFAULT_PARAMS_FILE } from './run';
export { pickCandidate, planContenders, baselineDescription } from './contenders';
export type { PlannedContender, ContenderPlan } from './contenders';
export { writeIndex } from './evaluate-outputs';
export type { RunEvaluateOptions, RunEvaluateResult } from './run';
