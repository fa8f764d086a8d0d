/** Registering a training run: every baseline, the chosen model with its trials, then the challenger alias. */
import { setAlias, writeModelVersion } from '@bolsillo/model';
import { BASELINE_KINDS } from '@bolsillo/schema';
import { modelCard, trialsCsv, versionIds, type TrainingRun } from './model-cards';

/** The versions a run registered. */
export interface RegisteredRun {
  readonly candidate: string;
  readonly baselines: Record<string, string>;
}

/**
 * Write every baseline the run fitted and the chosen model (with `trials.json` and `trials.csv`)
 * into the registry, and point `challenger` at the chosen model.
 */
export async function registerRun(
  registry: string,
  run: Omit<TrainingRun, 'candidateVersion'>,
): Promise<RegisteredRun> {
  const { result, params } = run;
  const kinds = BASELINE_KINDS.filter((k) => result.baselines[k]);
  const ids = versionIds(run.created, kinds);
  const withCandidate: TrainingRun = { ...run, candidateVersion: ids.candidate };
  for (const kind of kinds) {
    const fitted = result.baselines[kind]!;
    await writeModelVersion(
      registry,
      modelCard(withCandidate, ids.baselines[kind]!, fitted, 'baseline'),
      fitted.artifacts,
    );
  }
  const trials = [...result.sample_trials, ...result.full_trials, ...result.baseline_trials, ...result.feature_trials];
  await writeModelVersion(
    registry,
    modelCard(withCandidate, ids.candidate, result.best, 'candidate', { baselines: ids.baselines }),
    result.best.artifacts,
    { 'trials.json': `${JSON.stringify(trials, null, 2)}\n`, 'trials.csv': trialsCsv(trials) },
  );
  setAlias(
    registry,
    'challenger',
    ids.candidate,
    `trained ${result.best.family} on master ${run.hash}; ${params.selection_metric} ${result.best.trial.score_mean.toFixed(4)}`,
  );
  return ids;
}
