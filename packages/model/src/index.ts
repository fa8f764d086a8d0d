/**
 * @packageDocumentation
 * The model runtime: the registry of model versions and aliases, `model.json` artifacts and the
 * scorer that evaluates them without TensorFlow (encoder, dense network, tree ensembles, calibration),
 * and the TensorFlow.js backend that training loads. The data stages (ingest, features, build) do not
 * depend on this library, so they install without TensorFlow.
 */

/** The registry: versions under `registry/models/<version>/`, aliases, audit log. */
export {
  ALIAS_NAMES,
  VERSION_PATTERN,
  newVersionId,
  modelDir,
  readCard,
  listVersions,
  readAliases,
  appendAudit,
  completeAliasMove,
  readAudit,
  setAlias,
  promote,
  rollback,
  writeModelVersion,
} from './registry';
export type { AuditEntry } from './registry';

/** Loading a registered model and scoring rows with it (no tfjs: serving does not need it). */
export { loadModel, modelFromArtifacts } from './load-model';
export type { LoadedModel, ModelScores } from './load-model';

/** `model.json` artifacts: layers, baselines, tree ensembles and the scorers behind them. */
export {
  baselineArtifacts,
  ruleScore,
  featureScore,
  featureValueScore,
  featureSignal,
  featureNumber,
} from './artifacts';
export type {
  ModelArtifacts,
  ModelJson,
  LayersModelJson,
  BaselineModelJson,
  FeatureScorerJson,
  RuleCondition,
  WeightSpec,
} from './artifacts';
export { compileTreeEnsemble, treeLogits, treeContributions } from './trees';
export type { TreeEnsembleJson, TreeJson, CompiledEnsemble } from './trees';
export { readDenseNetwork, forwardDense } from './network';
export type { DenseLayer, Activation } from './network';

/** Preprocessing (row → encoded feature vector) and probability calibration. */
export { createEncoder, encodedNames, MISSING_SUFFIX, OOV_TOKEN, BIN_INFIX } from './preprocessing';
export type { Encoder, ColumnBatch } from './preprocessing';
export { calibrate, logit, sigmoid } from './calibration';

/** TensorFlow.js, loaded once per process on the best available backend (training only). */
export { loadTf } from './tf-backend';
export type { Tf, TfHandle } from './tf-backend';
