import { Type, type Static } from '@sinclair/typebox';
import { IsoDateSchema, Nullable } from './common';

/**
 * The canonical, validated, pseudonymised transaction: what ingest writes to the raw zone
 * (`data/lake/transactions/date=YYYY-MM-DD/`). Raw ids never appear here: `customer_key` is an
 * HMAC of the customer's identity tuple.
 */
export const TransactionSchema = Type.Object(
  {
    txn_id: Type.String({ description: 'Stable id: source file name and line number, "file.csv#12".' }),
    customer_key: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'HMAC-SHA256 pseudonym of the customer identity tuple.',
    }),
    account_cohort: Type.String({
      pattern: '^\\d{6}$',
      description: 'Account opening cohort, YYYYMM.',
      examples: ['201405'],
    }),
    city: Type.String({ minLength: 1, description: 'Customer home city, trimmed.' }),
    state: Type.String({ pattern: '^[A-Z]{2}$', description: 'Customer home state code.', examples: ['SP'] }),
    age: Type.Integer({ minimum: 16, maximum: 110, description: 'Customer age in years.' }),
    sex: Type.Union([Type.Literal('F'), Type.Literal('M')], { description: 'Customer sex.' }),
    credit_limit: Type.Integer({ minimum: 0, description: 'Total credit limit (BRL).' }),
    available_limit: Type.Integer({
      minimum: 0,
      description: 'Available limit snapshot taken with the transaction (BRL).',
    }),
    date: IsoDateSchema,
    amount: Nullable(
      Type.Number({ minimum: 0, description: 'Amount (BRL); null when the source had the missing marker.' }),
    ),
    merchant_group: Type.String({
      minLength: 1,
      description: 'Merchant group, normalised (SERVIÇO, AUTO PEÇAS, ...).',
    }),
    merchant_city: Nullable(Type.String({ description: 'Merchant city; null when empty in the source.' })),
    merchant_country: Nullable(Type.String({ description: 'Merchant country code; null when empty in the source.' })),
    source_file: Type.String({ description: 'Name of the raw file the row came from.' }),
    source_line: Type.Integer({
      minimum: 1,
      description: '1-based line number in the raw file (the header is line 1).',
    }),
  },
  { $id: 'Transaction', additionalProperties: false },
);

/** A canonical transaction. */
export type Transaction = Static<typeof TransactionSchema>;

/** Canonical transaction column names in storage order. */
export const TRANSACTION_COLUMNS = Object.keys(TransactionSchema.properties) as (keyof Transaction)[];

/** The customer identity tuple the pseudonym is computed from (raw id plus profile fields). */
export const IDENTITY_FIELDS = [
  'account_cohort',
  'city',
  'state',
  'age',
  'sex',
] as const satisfies readonly (keyof Transaction)[];
