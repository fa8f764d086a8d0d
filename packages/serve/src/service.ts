import crypto from 'node:crypto';
import { epochDay, revengeFlag, type FlagRule } from '@bolsillo/core';
import type { PredictionLogEntry, PredictionRequest, PredictionResponse } from '@bolsillo/schema';
import type { ServeMetrics } from './metrics';
import type { ModelHost, ServingSlot } from './model-host';
import type { Variant } from './model';
import type { OnlineFeatureRow } from './online-features';
import { chooseVariant, scoreRows, type RoutingConfig } from './scoring';

const VARIANTS: readonly Variant[] = ['champion', 'challenger'];

/** The positions of `variant` in `variants` (`count` of them). */
function indicesOf(variants: readonly Variant[], variant: Variant, count: number): Int32Array {
  const idx = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < variants.length; i += 1) if (variants[i] === variant) idx[k++] = i;
  return idx;
}

/**
 * The label set of a prediction counter series, one frozen object per (label, version, variant):
 * the counter keys a label set it has seen before by identity instead of rebuilding its key.
 */
const labelSets = new Map<string, Readonly<Record<string, string>>>();
function predictionLabels(label: boolean, version: string, variant: string): Readonly<Record<string, string>> {
  const k = `${label ? 1 : 0}${variant}\u001f${version}`;
  let labels = labelSets.get(k);
  if (labels === undefined) {
    if (labelSets.size > 1_000) labelSets.clear();
    labels = Object.freeze({ label: String(label), model_version: version, variant });
    labelSets.set(k, labels);
  }
  return labels;
}

/** Raised when no champion is loaded yet (the API answers 503). */
export class NotReadyError extends Error {
  constructor() {
    super('no model is loaded yet');
    this.name = 'NotReadyError';
  }
}

/**
 * Raised for input that passes the schema but cannot be scored: a date that does not exist
 * (2019-02-30 matches the pattern), or features the model cannot turn into a finite probability.
 * `status` is 400 or 422; `errors` name the fields like the schema validator does.
 */
export class InvalidRequestError extends Error {
  constructor(
    readonly status: 400 | 422,
    readonly errors: string[],
  ) {
    super(errors.join('; '));
    this.name = 'InvalidRequestError';
  }
}

/** Field errors the schema cannot express (calendar validity), named like ajv's (`/date`, `/3/date`). */
export function semanticErrors(requests: readonly PredictionRequest[], batch: boolean): string[] {
  const errors: string[] = [];
  requests.forEach((r, i) => {
    const at = batch ? `/${i}` : '';
    try {
      epochDay(r.date);
    } catch {
      errors.push(`${at}/date must be a real calendar date (got ${r.date})`);
    }
    const month = Number(r.account_cohort.slice(4, 6));
    if (month < 1 || month > 12)
      errors.push(`${at}/account_cohort must be YYYYMM with a month 01-12 (got ${r.account_cohort})`);
  });
  return errors;
}

/** What the prediction service needs. */
export interface PredictionServiceDeps {
  readonly host: Pick<ModelHost, 'slot'>;
  readonly features: { featuresFor(request: PredictionRequest): OnlineFeatureRow };
  readonly routing: RoutingConfig;
  readonly metrics: ServeMetrics;
  /** Where prediction-log entries go (buffered; must not block). */
  readonly logPrediction: (date: string, entry: PredictionLogEntry) => void;
  /** The flag's rule and the forecast horizon the served models were trained for. */
  readonly target: () => ServedTarget;
}

/** What the answers are about: the flag's rule and the forecast horizon. */
export interface ServedTarget {
  readonly rule: FlagRule;
  readonly horizonDays: number;
}

/** The answer to a request: one response per transaction and the versions that answered. */
export interface PredictionResult {
  readonly predictions: PredictionResponse[];
  readonly versions: string[];
}

/**
 * Validated requests in, predictions out: online features, variant routing, scoring, the prediction
 * log and the prediction metrics. Everything the `/predict` route does apart from HTTP.
 */
export class PredictionService {
  constructor(private readonly deps: PredictionServiceDeps) {}

  /** Score validated requests (one or a batch). Throws {@link NotReadyError} before a champion is loaded. */
  predict(requests: readonly PredictionRequest[], batch = requests.length > 1): PredictionResult {
    const invalid = semanticErrors(requests, batch);
    if (invalid.length > 0) throw new InvalidRequestError(400, invalid);
    // Scoring is synchronous, CPU-bound code, so its wall time is its CPU time; process.cpuUsage, a
    // system call, would cost more than the scoring itself.
    const t0 = performance.now();
    // Read each slot once: a model switch during this call cannot mix versions within a variant.
    const champion = this.deps.host.slot('champion');
    if (!champion) throw new NotReadyError();
    const challenger = this.deps.host.slot('challenger');
    const slots: Record<Variant, ServingSlot | null> = { champion, challenger };

    const n = requests.length;
    const rows = new Array<OnlineFeatureRow>(n);
    const ids = new Array<string>(n);
    const variants = new Array<Variant>(n);
    let challengers = 0;
    for (let i = 0; i < n; i += 1) {
      const row = this.deps.features.featuresFor(requests[i]!);
      rows[i] = row;
      ids[i] = crypto.randomUUID();
      const v = chooseVariant(row.customerKey, this.deps.routing, challenger !== null);
      variants[i] = v;
      if (v === 'challenger') challengers += 1;
    }

    const predictions: PredictionResponse[] = new Array(n);
    const versions: string[] = [];
    const target = this.deps.target();
    for (const variant of VARIANTS) {
      const slot = slots[variant];
      const count = variant === 'challenger' ? challengers : n - challengers;
      if (!slot || count === 0) continue;
      versions.push(slot.version);
      // The rows this variant answers (all of them in the common case of one variant).
      const idx = count === n ? null : indicesOf(variants, variant, count);
      const features = new Array<Record<string, unknown>>(count);
      for (let k = 0; k < count; k += 1)
        features[k] = rows[idx === null ? k : idx[k]!]!.features as unknown as Record<string, unknown>;
      const scores = scoreRows(slot.model, features);
      const broken: string[] = [];
      for (let k = 0; k < count; k += 1) {
        if (!Number.isFinite(scores[k]!.probability))
          broken.push(
            `${batch ? `/${idx === null ? k : idx[k]!}` : '/'} cannot be scored: the model gave no finite probability for these values`,
          );
      }
      if (broken.length > 0) throw new InvalidRequestError(422, broken);
      for (let k = 0; k < count; k += 1) {
        const i = idx === null ? k : idx[k]!;
        const s = scores[k]!;
        const f = revengeFlag(requests[i]!, target.rule);
        const p: PredictionResponse = {
          request_id: ids[i]!,
          is_revenge_spending: f.flagged,
          flag: {
            available_ratio: f.available_ratio,
            threshold: target.rule.threshold,
            below_threshold: f.below_threshold,
            non_essential: f.non_essential,
          },
          probability: s.probability,
          horizon_days: target.horizonDays,
          alert: s.label,
          threshold: slot.model.threshold,
          history_found: rows[i]!.known,
          model_version: slot.version,
          variant,
        };
        if (s.contributions) p.contributions = s.contributions;
        predictions[i] = p;
        this.deps.metrics.predictions.inc(predictionLabels(s.label, slot.version, variant));
      }
    }

    const latencyMs = performance.now() - t0;
    const cpuUs = (latencyMs * 1000) / n;
    const ts = new Date().toISOString();
    const day = ts.slice(0, 10);
    for (let i = 0; i < n; i += 1) {
      const p = predictions[i]!;
      this.deps.logPrediction(day, {
        request_id: p.request_id,
        ts,
        model_version: p.model_version,
        variant: p.variant,
        customer_key: rows[i]!.customerKey,
        date: requests[i]!.date,
        features: rows[i]!.features as PredictionLogEntry['features'],
        probability: p.probability,
        label: p.alert,
        latency_ms: latencyMs,
        cpu_us: cpuUs,
      });
    }

    if (this.deps.routing.shadow && challenger) {
      // The challenger's opinion is recorded after the answer is computed, off the request path.
      setImmediate(() => this.shadow(challenger, rows, ids, requests, ts, day));
    }
    return { predictions, versions };
  }

  private shadow(
    slot: ServingSlot,
    rows: OnlineFeatureRow[],
    ids: string[],
    requests: readonly PredictionRequest[],
    ts: string,
    day: string,
  ): void {
    try {
      const t0 = performance.now();
      const scores = scoreRows(
        slot.model,
        rows.map((r) => r.features as unknown as Record<string, unknown>),
        false,
      );
      const latencyMs = performance.now() - t0;
      scores.forEach((s, i) => {
        this.deps.metrics.predictions.inc({ label: String(s.label), model_version: slot.version, variant: 'shadow' });
        this.deps.logPrediction(day, {
          request_id: ids[i]!,
          ts,
          model_version: slot.version,
          variant: 'shadow',
          customer_key: rows[i]!.customerKey,
          date: requests[i]!.date,
          features: rows[i]!.features as PredictionLogEntry['features'],
          probability: s.probability,
          label: s.label,
          latency_ms: latencyMs,
          cpu_us: (latencyMs * 1000) / rows.length,
        });
      });
    } catch {
      this.deps.metrics.shadowErrors.inc({ model_version: slot.version });
    }
  }
}
