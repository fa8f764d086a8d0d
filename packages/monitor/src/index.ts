/**
 * @packageDocumentation
 * The monitor stage: data drift against the build's stored profile, model metrics and value from
 * labelled outcomes, compute cost, and an alarm policy whose actions retrain, roll back or promote
 * through the same commands a person would use. `renderMonitoringPage` is what `GET /monitoring` serves.
 */
export { computeDrift, computeScoreDrift, profileFromColumns, DEFAULT_DRIFT_PARAMS } from './drift';
export type { DriftParams, DriftResult, DriftTest, FeatureDrift, ScoreDrift } from './drift';
export {
  psi,
  psiCritical,
  ksBinned,
  ksPValue,
  ksTwoSample,
  wassersteinBinned,
  chiSquareTwoSample,
  jensenShannon,
  jensenShannonCritical,
  chiSquareSurvival,
  chiSquareCritical,
  histogram,
} from './stats';
export { computeModelMetrics, computeValue, metricsOf } from './performance';
export type { LabelledOutcome, ValueMatrix, MetricsPoint, VersionMetrics, ValuePoint } from './performance';
export { computeCosts } from './costs';
export type { CostReport, StageCostPoint, ServingCostPoint } from './costs';
export { PolicySchema, evaluatePolicy, emptyState, bootstrapBetter } from './policy';
export type { Policy, PolicyRule, MonitorState, RuleState, AlarmInputs, AlarmStatus, PlannedAction } from './policy';
export { MonitorParamsSchema } from './params';
export type { MonitorParams } from './params';
export { runMonitor, loadMonitorConfig } from './run';
export type { MonitorOptions } from './run';
export { planWindow, DEFAULT_WINDOW_MAX_ROWS } from './monitor-window';
export type { WindowPlan, WindowKind } from './monitor-window';
export { executeAction, RETRAIN_COMMAND } from './actions';
export type { ActionRecord, ActionContext } from './actions';
export { dataHealth } from './data-health';
export type { DataHealthReport } from './data-health';
export type { MonitorSummary, DriftReport } from './monitor-outputs';
export { renderMonitoringPage, renderMonitoringHtml } from './page';
export type { MonitoringPageData } from './page';
