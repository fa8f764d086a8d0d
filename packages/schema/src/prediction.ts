import { Type, type Static } from '@sinclair/typebox';
import { TransactionSchema } from './transaction';

const FROM_TRANSACTION = [
  'account_cohort', 'city', 'state', 'age', 'sex', 'credit_limit', 'available_limit',
  'date', 'amount', 'merchant_group', 'merchant_city', 'merchant_country',
] as const;

/**
 * The example shown in Swagger UI; "Try it out → Execute" sends it as is. It is a customer of the
 * committed generated sample (`data/raw/sample.csv`) whose card was maxed out on the sample's last
 * day, buying clothes the next day: the online store supplies their history, and the model should
 * call it revenge spending. (On other data the id is unknown and the row is scored as a first one.)
 */
export const PREDICTION_EXAMPLE = {
  customer_id: '9,50E+11',
  account_cohort: '201504',
  city: 'SAO PAULO',
  state: 'SP',
  age: 36,
  sex: 'F',
  credit_limit: 450,
  available_limit: 40,
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
    customer_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Raw customer id as in the source file; pseudonymised on arrival, never stored.' })),
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

/** The answer for one transaction. */
export const PredictionResponseSchema = Type.Object(
  {
    request_id: Type.String({ description: 'Id of this prediction, for feedback and the prediction log.' }),
    probability: Type.Number({ minimum: 0, maximum: 1, description: 'Calibrated probability of revenge spending.' }),
    is_revenge_spending: Type.Boolean({ description: 'Label at the model\'s decision threshold.' }),
    threshold: Type.Number({ description: 'Decision threshold of the answering model.' }),
    model_version: Type.String({ description: 'Registry version of the answering model.' }),
    variant: Type.Union([Type.Literal('champion'), Type.Literal('challenger')], { description: 'Which alias answered.' }),
    contributions: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'Per-feature contribution to the logit (linear models).' })),
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
