import type { ModelCard } from '@bolsillo/schema';

const f4 = (v: number) => v.toFixed(4);

/**
 * The cross-validated selection metric of a model, named for what it is: the train log and `registry list`
 * both print this one string from the card, so they cannot disagree. With `selection_aggregate: pooled`
 * the figure is the metric of the pooled out-of-fold predictions, shown beside the fold mean and spread
 * (a different quantity, so never as "pooled ± fold sd"); otherwise the fold mean ± its standard deviation.
 */
export function cvSummary(card: Pick<ModelCard, 'metrics' | 'cv'>): string {
  const cv = card.cv as { selection_metric?: string; rounds?: { selection_aggregate?: string } };
  const metric = cv.selection_metric ?? 'pr_auc';
  const m = card.metrics as Record<string, number | undefined>;
  const mean = m[`cv_${metric}`];
  const std = m[`cv_${metric}_std`];
  const pooled = m[`cv_oof_${metric}`];
  const folds = mean !== undefined ? `fold mean ${f4(mean)}${std !== undefined ? ` ± ${f4(std)} sd` : ''}` : '';
  if (cv.rounds?.selection_aggregate === 'pooled' && pooled !== undefined)
    return `${metric} pooled out-of-fold ${f4(pooled)}${folds ? ` (${folds})` : ''}`;
  return folds ? `${metric} ${folds}` : '';
}

/** Where the threshold a version is served at comes from: evaluate's decision.json when written, else the card. */
export function thresholdSummary(
  card: Pick<ModelCard, 'threshold'>,
  decision: { threshold?: number; objective?: string; chosen_on?: string } | null,
): string {
  if (decision && typeof decision.threshold === 'number') {
    const how = [
      decision.objective ? `best ${decision.objective}` : '',
      decision.chosen_on ? `on the ${decision.chosen_on} split` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return `served ${f4(decision.threshold)} (decision.json, chosen by evaluate${how ? `: ${how}` : ''}; the API and monitor use it); train's proposal ${f4(card.threshold)} (card)`;
  }
  return `served ${f4(card.threshold)} (card: train's proposal; evaluate has not written decision.json yet)`;
}
