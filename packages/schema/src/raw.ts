import { Type, type Static } from '@sinclair/typebox';

/**
 * One row of a MiBolsillo CSV exactly as it arrives: 13 `;`-separated text fields, in file order,
 * with the source header names (note the spaces around ` valor `). Every value is raw text; the
 * ingest stage parses and validates it into a {@link Transaction}.
 *
 * Each property carries `canonical`, the name of the {@link Transaction} field it becomes, so the
 * rename lives here and nowhere else.
 */
export const RawRowSchema = Type.Object(
  {
    id: Type.String({ canonical: 'customer_key', description: 'Customer id, often spreadsheet-mangled ("4,53E+11").' }),
    safra_abertura: Type.String({ canonical: 'account_cohort', description: 'Account opening cohort, YYYYMM.' }),
    cidade: Type.String({ canonical: 'city', description: 'Customer home city, space-padded.' }),
    estado: Type.String({ canonical: 'state', description: 'Customer home state code, trailing space.' }),
    idade: Type.String({ canonical: 'age', description: 'Customer age in years.' }),
    sexo: Type.String({ canonical: 'sex', description: 'Customer sex, F or M.' }),
    limite_total: Type.String({ canonical: 'credit_limit', description: 'Total credit limit (BRL, integer).' }),
    limite_disp: Type.String({
      canonical: 'available_limit',
      description: 'Available limit snapshot at the transaction (BRL, integer).',
    }),
    data: Type.String({ canonical: 'date', description: 'Transaction date, d.mm.yyyy with an unpadded day.' }),
    ' valor ': Type.String({
      canonical: 'amount',
      description: 'Amount, Brazilian format ("1.784,13"); " -   " when missing.',
    }),
    grupo_estabelecimento: Type.String({
      canonical: 'merchant_group',
      description: 'Merchant group; 0x82 stands for Ç.',
    }),
    cidade_estabelecimento: Type.String({ canonical: 'merchant_city', description: 'Merchant city, may be empty.' }),
    pais_estabelecimento: Type.String({
      canonical: 'merchant_country',
      description: 'Merchant country code, may be empty.',
    }),
  },
  { $id: 'RawRow', additionalProperties: false },
);

/** One raw CSV row, every field as text. */
export type RawRow = Static<typeof RawRowSchema>;

/** Raw column names in file order, derived from {@link RawRowSchema}. */
export const RAW_COLUMNS = Object.keys(RawRowSchema.properties) as (keyof RawRow)[];

/** Raw column name → canonical field name, derived from the `canonical` annotation. */
export const RAW_TO_CANONICAL: Readonly<Record<keyof RawRow, string>> = Object.fromEntries(
  RAW_COLUMNS.map((column) => [
    column,
    (RawRowSchema.properties[column] as unknown as { canonical: string }).canonical,
  ]),
) as Record<keyof RawRow, string>;
