/**
 * Labelled outcomes and what the served models answered (pure): feedback joined to the prediction
 * log, matured window snapshots scored by the served models, the thresholds and value matrices they
 * are judged by, the recent outcomes the alarms look at, and the champion's score drift.
 */
import type { LoadedModel } from '@bolsillo/model';
import type { Decision, PredictionLogEntry, ValueMatrix } from '@bolsillo/schema';
import { computeScoreDrift, type ScoreDrift } from './drift';
import type { MaturedSnapshots } from './matured';
import { daysBetween, type LabelledOutcome } from './performance';

/** Served predictions whose label came back as feedback. */
export function feedbackOutcomes(
  predictions: readonly PredictionLogEntry[],
  feedback: ReadonlyMap<string, boolean>,
): LabelledOutcome[] {
  const out: LabelledOutcome[] = [];
  for (const p of predictions) {
    const actual = feedback.get(p.request_id);
    if (actual !== undefined)
      out.push({ date: p.date, modelVersion: p.model_version, probability: p.probability, actual, source: 'feedback' });
  }
  return out;
}

/** Each model's scores on the matured window snapshots, labelled with their computed target. */
export function computedOutcomes(
  models: readonly (LoadedModel | null)[],
  matured: Pick<MaturedSnapshots, 'rows' | 'actual'>,
): LabelledOutcome[] {
  const out: LabelledOutcome[] = [];
  for (const model of models) {
    if (!model || !matured.rows.length) continue;
    const scores = model.predict(matured.rows);
    matured.rows.forEach((r, i) =>
      out.push({
        date: String(r.date),
        modelVersion: model.card.version,
        probability: scores[i]!,
        actual: matured.actual[i]!,
        source: 'computed',
      }),
    );
  }
  return out;
}

/**
 * The threshold each version flags at (the loaded model's, else its decision's, else its card's,
 * else 0.5) and the value matrix of each version that has a decision, for the versions in `outcomes`.
 */
export function judgedBy(
  outcomes: readonly LabelledOutcome[],
  loaded: readonly (LoadedModel | null)[],
  decisionOf: (version: string) => Decision | null,
  cardThresholdOf: (version: string) => number | undefined,
): { thresholds: Record<string, number>; matrices: Record<string, ValueMatrix> } {
  const thresholds: Record<string, number> = {};
  const matrices: Record<string, ValueMatrix> = {};
  for (const v of new Set(outcomes.map((o) => o.modelVersion))) {
    const d = decisionOf(v);
    if (d) matrices[v] = d.value_matrix;
    const model = loaded.find((m) => m?.card.version === v) ?? null;
    thresholds[v] = model?.threshold ?? d?.threshold ?? cardThresholdOf(v) ?? 0.5;
  }
  return { thresholds, matrices };
}

/** The outcomes of the last `windowDays` days before the newest outcome: what the alarms look at. */
export function recentOutcomes(outcomes: readonly LabelledOutcome[], windowDays: number): LabelledOutcome[] {
  const last = outcomes.reduce<string | null>((m, o) => (!m || o.date > m ? o.date : m), null);
  return last ? outcomes.filter((o) => daysBetween(o.date, last) < windowDays) : [];
}

/**
 * Score drift: the champion's scores on master test rows against what it answered in the window (or,
 * when it served nothing there and snapshots matured, what it would answer on the window's rows).
 */
export function championScoreDrift(
  champion: LoadedModel,
  referenceRows: readonly Record<string, unknown>[],
  predictions: readonly PredictionLogEntry[],
  range: { readonly from?: string; readonly to?: string },
  windowRows: readonly Record<string, unknown>[],
  anyMatured: boolean,
  alpha: number,
): ScoreDrift | null {
  const live = predictions
    .filter(
      (p) =>
        p.model_version === champion.card.version &&
        (!range.from || p.date >= range.from) &&
        (!range.to || p.date <= range.to),
    )
    .map((p) => p.probability);
  const current = live.length ? live : anyMatured ? Array.from(champion.predict(windowRows)) : [];
  if (!referenceRows.length || !current.length) return null;
  return computeScoreDrift(champion.predict(referenceRows), current, alpha);
}
