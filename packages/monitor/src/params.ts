import { Type, type Static } from '@sinclair/typebox';
import type { DriftParams } from './drift';

/** Schema of `packages/monitor/params.json`. */
export const MonitorParamsSchema = Type.Object(
  {
    drift: Type.Object(
      {
        alpha: Type.Number({
          exclusiveMinimum: 0,
          maximum: 0.5,
          description: 'Family-wise significance of the p-value tests (Bonferroni over features).',
        }),
        small_sample: Type.Integer({
          minimum: 1,
          description: 'Up to this many rows: KS / chi-square; above: normalised Wasserstein / Jensen–Shannon.',
        }),
        wasserstein_threshold: Type.Number({ minimum: 0 }),
        jensen_shannon_threshold: Type.Number({ minimum: 0 }),
        psi_threshold: Type.Number({ minimum: 0 }),
        exclude: Type.Array(Type.String(), {
          description: 'Features not compared (calendar features move with any window).',
        }),
      },
      { additionalProperties: false },
    ),
    window: Type.Object(
      {
        fallback_days: Type.Integer({
          minimum: 1,
          description: 'With no partition newer than the master table, monitor this many latest partitions.',
        }),
        max_rows: Type.Optional(
          Type.Integer({
            minimum: 100,
            description:
              'Read at most this many window rows: a seeded uniform sample above it (recorded as window.sampled_rows). Default 200000.',
          }),
        ),
        seed: Type.Optional(Type.Integer({ description: 'Seed of the window sample. Default 17.' })),
      },
      { additionalProperties: false },
    ),
    metrics: Type.Object(
      {
        window_days: Type.Integer({
          minimum: 1,
          description: 'Rolling window of the metrics over time, and the "recent" window alarms judge.',
        }),
        score_reference_rows: Type.Integer({
          minimum: 0,
          description: 'Master test rows scored as the score-drift reference (0: off).',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'MonitorParams', additionalProperties: false },
);
export type MonitorParams = Static<typeof MonitorParamsSchema>;

/** The drift section in the shape {@link computeDrift} takes. */
export function driftParamsOf(p: MonitorParams): DriftParams {
  return {
    alpha: p.drift.alpha,
    smallSample: p.drift.small_sample,
    wassersteinThreshold: p.drift.wasserstein_threshold,
    jensenShannonThreshold: p.drift.jensen_shannon_threshold,
    psiThreshold: p.drift.psi_threshold,
    exclude: p.drift.exclude,
  };
}
