import { Type, type Static } from '@sinclair/typebox';
import { TransactionSchema } from './transaction';

const FROM_TRANSACTION = [
  'account_cohort',
  'city',
  'state',
  'age',
  'sex',
  'credit_limit',
  'available_limit',
  'date',
  'amount',
  'merchant_group',
  'merchant_city',
  'merchant_country',
] as const;

/**
 * The example shown in Swagger UI; "Try it out → Execute" sends it as is: a card with 620 of 7,750
 * left (8%) buying clothes, a non-essential group, so the flag fires whatever the history. The id
 * is a customer of the committed generated sample (`data/raw/sample.csv`) whose card was maxed out
 * on the sample's last day; on other data it is unknown, and the answer says no history was found.
 */
export const PREDICTION_EXAMPLE = {
  customer_id: '8,20E+11',
  account_cohort: '201909',
  city: 'SAO PAULO',
  state: 'SP',
  age: 38,
  sex: 'F',
  credit_limit: 7750,
  available_limit: 620,
  date: '2020-05-08',
  amount: 189.9,
  merchant_group: 'VESTUARIO',
  merchant_city: 'SAO PAULO',
  merchant_country: 'BR',
} as const;

/**
 * One transaction to score: the fields of a source row in canonical names, plus an optional raw
 * customer id. With the id, the API pseudonymises it exactly as ingest does and the online store
 * supplies the customer's history features; without it the transaction is scored as a first one.
 */
export const PredictionRequestSchema = Type.Object(
  {
    customer_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Raw customer id as in the source file; pseudonymised on arrival, never stored.',
      }),
    ),
    ...Type.Pick(TransactionSchema, FROM_TRANSACTION).properties,
  },
  { $id: 'PredictionRequest', additionalProperties: false, examples: [PREDICTION_EXAMPLE] },
);
export type PredictionRequest = Static<typeof PredictionRequestSchema>;

/** Largest batch accepted by `POST /predict` in one request. */
export const MAX_BATCH = 1000;

/** A batch of transactions to score. */
export const BatchPredictionRequestSchema = Type.Array(PredictionRequestSchema, { minItems: 1, maxItems: MAX_BATCH });
export type BatchPredictionRequest = Static<typeof BatchPredictionRequestSchema>;

/** The conditions of the authorisation-time flag for one transaction. */
export const FlagConditionsSchema = Type.Object(
  {
    available_ratio: Type.Union([Type.Number(), Type.Null()], {
      description: 'available_limit / credit_limit, unrounded; null when the limit is 0.',
    }),
    threshold: Type.Number({ description: 'The flag fires below this ratio.' }),
    below_threshold: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'available_ratio < threshold (null when the ratio cannot be computed).',
    }),
    non_essential: Type.Boolean({ description: 'The merchant group is not in the essential list.' }),
  },
  { additionalProperties: false },
);

/**
 * The answer for one transaction: two answers that must not be confused. The **flag** is the rule
 * applied exactly to this transaction (no model). The **forecast** is the model's chance that the
 * customer makes a flagged transaction in the next `horizon_days` days, from the customer's state
 * just after this transaction.
 */
export const PredictionResponseSchema = Type.Object(
  {
    request_id: Type.String({ description: 'Id of this prediction, for feedback and the prediction log.' }),
    is_revenge_spending: Type.Union([Type.Boolean(), Type.Null()], {
      description:
        'The flag: this transaction is revenge spending (available ratio below the threshold at a non-essential group). Exact, no model; null when the ratio cannot be computed (limit 0).',
    }),
    flag: FlagConditionsSchema,
    probability: Type.Number({
      minimum: 0,
      maximum: 1,
      description:
        'The forecast: calibrated probability that the customer makes a flagged transaction in the next horizon_days days.',
    }),
    horizon_days: Type.Integer({ minimum: 1, description: 'Forecast horizon in days.' }),
    alert: Type.Boolean({
      description:
        'probability ≥ threshold: the customer is worth acting on (a nudge, an instalment offer, a limit review).',
    }),
    threshold: Type.Number({ description: 'Decision threshold of the answering model for `alert`.' }),
    history_found: Type.Boolean({
      description:
        'The customer was found in the online store; false: scored from this transaction alone and what the model learnt from the population.',
    }),
    model_version: Type.String({ description: 'Registry version of the answering model.' }),
    variant: Type.Union([Type.Literal('champion'), Type.Literal('challenger')], {
      description: 'Which alias answered.',
    }),
    contributions: Type.Optional(
      Type.Record(Type.String(), Type.Number(), {
        description: 'Per-feature contribution to the logit (linear models).',
      }),
    ),
  },
  { $id: 'PredictionResponse', additionalProperties: false },
);
export type PredictionResponse = Static<typeof PredictionResponseSchema>;

/** The answer for a batch: one response per input, in order. */
export const BatchPredictionResponseSchema = Type.Object(
  { predictions: Type.Array(PredictionResponseSchema) },
  { $id: 'BatchPredictionResponse', additionalProperties: false },
);
export type BatchPredictionResponse = Static<typeof BatchPredictionResponseSchema>;

/** A label that arrived after the prediction. */
export const FeedbackSchema = Type.Object(
  {
    request_id: Type.String({ minLength: 1 }),
    is_revenge_spending: Type.Boolean(),
  },
  { $id: 'Feedback', additionalProperties: false },
);
export type Feedback = Static<typeof FeedbackSchema>;
