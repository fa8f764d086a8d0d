import { Type, type Static } from '@sinclair/typebox';
import { PREDICTION_EXAMPLE, PredictionRequestSchema } from './prediction';

/**
 * The example Swagger UI sends for `POST /transactions`: the prediction example as a transaction
 * that happened. Executing it twice shows idempotency (`applied`, then `duplicate`).
 */
export const TRANSACTION_PUSH_EXAMPLE = { txn_id: 'demo-2020-05-08-0001', ...PREDICTION_EXAMPLE } as const;

/**
 * One transaction pushed to the online store (`POST /transactions` and the stream subject
 * `bolsillo.transactions`): the fields of a source row in canonical names, validated like ingest's
 * {@link TransactionSchema}, the raw customer id (pseudonymised on arrival, never stored) and the
 * transaction id that makes the push idempotent. A producer replaying a source file uses ingest's
 * id (`file.csv#line`), so the next ingest counts each transaction once.
 */
export const TransactionPushSchema = Type.Object(
  {
    txn_id: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^\\s]+$',
      description: 'Unique transaction id; a second push with the same id changes nothing.',
    }),
    ...Type.Required(Type.Pick(PredictionRequestSchema, ['customer_id'])).properties,
    ...Type.Omit(PredictionRequestSchema, ['customer_id']).properties,
  },
  { $id: 'TransactionPush', additionalProperties: false, examples: [TRANSACTION_PUSH_EXAMPLE] },
);
export type TransactionPush = Static<typeof TransactionPushSchema>;

/** A batch of pushed transactions, applied in order. */
export const BatchTransactionPushSchema = Type.Array(TransactionPushSchema, { minItems: 1, maxItems: 1000 });

/** What happened to one pushed transaction (see core's ApplyOutcome). */
export const PushOutcomeSchema = Type.Union(
  [Type.Literal('applied'), Type.Literal('duplicate'), Type.Literal('late')],
  {
    description:
      "applied: folded into the customer's state; duplicate: this id was already applied (nothing changed); late: dated before the customer's latest transaction, landed for the next batch run but not folded now.",
  },
);

/** The answer to `POST /transactions`: one outcome per transaction, in order. */
export const TransactionPushResponseSchema = Type.Object(
  {
    results: Type.Array(
      Type.Object({ txn_id: Type.String(), status: PushOutcomeSchema }, { additionalProperties: false }),
    ),
  },
  { $id: 'TransactionPushResponse', additionalProperties: false },
);
export type TransactionPushResponse = Static<typeof TransactionPushResponseSchema>;
