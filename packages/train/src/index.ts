/**
 * @packageDocumentation
 * The train stage: preprocessing fitted on the training split, tfjs logistic regression and MLP
 * candidates plus prior and rule baselines, algorithm selection on a group sample, grid + random
 * hyper-parameter search with grouped k-fold CV, Platt/isotonic calibration, and registration in the
 * model registry (the registry and the serving runtime live in `@bolsillo/core`).
 */
export { TrainParamsSchema, HyperParamsSchema, FamilySpaceSchema, SpaceDimSchema, SELECTION_METRICS } from './params';
export type { TrainParams, HyperParams, FamilySpace, SpaceDim, SelectionMetric } from './params';
export { fitPreprocessing } from './preprocess-fit';
export type { PreprocessOptions } from './preprocess-fit';
export { fitPlatt, fitIsotonic, chooseCalibration, bestF1Threshold } from './calibration-fit';
export type { CalibrationScore } from './calibration-fit';
export { expandGrid, familyCandidates } from './search';
export type { Candidate } from './search';
export { resolveParams, classWeights, buildNetwork, trainNetwork, predictNetwork, networkArtifacts } from './models';
export type { ResolvedParams, TrainedNetwork } from './models';
export { resolveGbdtParams, fitBins, applyBins, trainGbdt, predictGbdt } from './gbdt';
export type { GbdtParams, BinMapper, TrainedGbdt } from './gbdt';
export { trainAndSelect, cvCandidate, sampleGroups, selectionScore, groupValidationMask } from './train';
export type { Trial, FoldMetrics, TrainData, FittedModel, TrainResult, TrainDeps } from './train';
export { runTrain, DEFAULT_PARAMS_FILE } from './run';
export { trialsCsv, populationOf, limitationsOf, modelCard, versionIds } from './model-cards';
export type { TrainingRun } from './model-cards';
export { readTrainingInputs, trainingColumns } from './training-inputs';
export type { TrainingInputs } from './training-inputs';
export type { RunTrainOptions, RunTrainSummary } from './run';
export { formatList, formatShow } from './registry-cli';
