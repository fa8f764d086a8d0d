import { Bool, Float64, Int32, Utf8 } from 'apache-arrow';
import {
  BatchPredictionRequestSchema,
  FEATURE_DECLARATIONS,
  FeatureRowSchema,
  MasterRowSchema,
  PREDICTION_EXAMPLE,
  PredictionRequestSchema,
  RAW_COLUMNS,
  RAW_TO_CANONICAL,
  TransactionSchema,
  TRANSACTION_COLUMNS,
  arrowSchemaFor,
  describeErrors,
  openApiComponent,
  validatorFor,
} from './index';

const validTxn = {
  txn_id: 'sample.csv#2',
  customer_key: 'a'.repeat(64),
  account_cohort: '201405',
  city: 'CAMPO LIMPO PAULISTA',
  state: 'SP',
  age: 37,
  sex: 'F',
  credit_limit: 4700,
  available_limit: 5605,
  date: '2019-12-04',
  amount: 31,
  merchant_group: 'SERVIÇO',
  merchant_city: 'SAO PAULO',
  merchant_country: null,
  source_file: 'sample.csv',
  source_line: 2,
};

describe('schema derivations agree', () => {
  it('maps the 13 raw columns, in file order, onto canonical transaction fields', () => {
    expect(RAW_COLUMNS).toEqual([
      'id',
      'safra_abertura',
      'cidade',
      'estado',
      'idade',
      'sexo',
      'limite_total',
      'limite_disp',
      'data',
      ' valor ',
      'grupo_estabelecimento',
      'cidade_estabelecimento',
      'pais_estabelecimento',
    ]);
    for (const canonical of Object.values(RAW_TO_CANONICAL)) expect(TRANSACTION_COLUMNS).toContain(canonical);
  });

  it('derives an Arrow schema with the same fields, types and nullability as the JSON Schema', () => {
    const arrow = arrowSchemaFor(TransactionSchema);
    expect(arrow.fields.map((f) => f.name)).toEqual(TRANSACTION_COLUMNS);
    const byName = Object.fromEntries(arrow.fields.map((f) => [f.name, f]));
    expect(byName.age!.type).toBeInstanceOf(Int32);
    expect(byName.amount!.type).toBeInstanceOf(Float64);
    expect(byName.amount!.nullable).toBe(true);
    expect(byName.city!.nullable).toBe(false);
    expect(byName.sex!.type).toBeInstanceOf(Utf8);
    expect(byName.merchant_country!.nullable).toBe(true);
  });

  it('derives the feature-row schema from the declarations, one column per feature', () => {
    const arrow = arrowSchemaFor(FeatureRowSchema);
    expect(arrow.fields.map((f) => f.name)).toEqual([
      'txn_id',
      'customer_key',
      'date',
      ...FEATURE_DECLARATIONS.map((d) => d.name),
    ]);
    for (const d of FEATURE_DECLARATIONS) {
      const field = arrow.fields.find((f) => f.name === d.name)!;
      expect(field.nullable).toBe(d.nullable);
      const expected = { number: Float64, integer: Int32, boolean: Bool, category: Utf8 }[d.dtype];
      expect(field.type).toBeInstanceOf(expected);
    }
    expect(arrowSchemaFor(MasterRowSchema).fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['revenge_in_horizon', 'group', 'split', 'fold']),
    );
  });

  it('validates with the compiled ajv validator and names every invalid field', () => {
    const validate = validatorFor(TransactionSchema);
    expect(validatorFor(TransactionSchema)).toBe(validate);
    expect(validate(validTxn)).toBe(true);
    expect(validate({ ...validTxn, age: 'x', amount: -1, extra: 1 })).toBe(false);
    expect(describeErrors(validate.errors)).toEqual([
      '/extra is not a known field',
      '/age must be an integer (got "x")',
      '/amount must be at least 0 (got -1)',
    ]);
  });

  it("says one thing per field, unions included, in the data's terms", () => {
    const validate = validatorFor(TransactionSchema);
    const { city: _city, ...noCity } = validTxn;
    expect(validate({ ...noCity, sex: 'X', amount: 'abc', merchant_city: 5, state: '' })).toBe(false);
    expect(describeErrors(validate.errors)).toEqual([
      '/city is required',
      '/state must look like "SP" (got "")',
      '/sex must be one of "F" or "M" (got "X")',
      '/amount must be a number or null (got "abc")',
      '/merchant_city must be a string or null (got 5)',
    ]);
    const batch = validatorFor(BatchPredictionRequestSchema);
    expect(batch([])).toBe(false);
    expect(describeErrors(batch.errors)).toEqual(['/ must have at least 1 item']);
    expect(batch([PREDICTION_EXAMPLE, 7])).toBe(false);
    expect(describeErrors(batch.errors)).toEqual(['/1 must be an object (got 7)']);
  });

  it('accepts its own Swagger example and produces a plain OpenAPI component', () => {
    expect(validatorFor(PredictionRequestSchema)(PREDICTION_EXAMPLE)).toBe(true);
    const component = openApiComponent(PredictionRequestSchema);
    expect(component.$id).toBeUndefined();
    expect(Object.keys(component.properties as object)).toContain('customer_id');
  });
});
