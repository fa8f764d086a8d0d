/**
 * @packageDocumentation
 * The evaluate stage: metrics with bootstrap intervals against baselines and the champion, the
 * decision threshold, SVG plots, the HTML report and index, and the promotion gate.
 */
/** Stage name. */
export const STAGE = 'evaluate';
export { EvaluateParamsSchema, ValueMatrixSchema, FloorSchema, ChampionRuleSchema, BaselineRuleSchema, DEFAULT_EVALUATE_PARAMS, METRIC_DIRECTIONS, METRIC_NAMES } from './params';
export type { EvaluateParams, ValueMatrix, Floor, ChampionRule, BaselineRule, MetricName } from './params';
export { evaluateScores, pointMetrics, bootstrapIndices } from './metrics';
export type { Estimate, MetricSet, ConfusionCounts } from './metrics';
export { chooseThreshold, valueOf } from './threshold';
export type { Decision } from './threshold';
export { decideGate } from './gate';
export type { Verdict, GateCheck, SplitMetrics } from './gate';
export { rocCurve, prCurve, liftByDecile, scoreHistogram } from './curves';
export type { Point, Decile } from './curves';
export { learningCurve, learningCurveFromCard, fitLogistic } from './learning-curve';
export type { LearningPoint } from './learning-curve';
export { priorBaseline, ruleBaseline } from './baselines';
export type { Scorer } from './baselines';
export { evaluateCandidate, EVAL_SPLITS } from './evaluation';
export type { Evaluation, Contender, ContenderResult, SplitLabels, EvalSplit } from './evaluation';
export { renderReport, renderIndex, PLOT_ORDER } from './report';
export type { IndexEntry } from './report';
export { runEvaluate, runRollback, runForcePromote, writeIndex, pickCandidate, DEFAULT_PARAMS_FILE } from './run';
export type { RunEvaluateOptions, RunEvaluateResult } from './run';
