import { Bool, Float64, Int32, Utf8 } from 'apache-arrow';
import {
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
      'id', 'safra_abertura', 'cidade', 'estado', 'idade', 'sexo', 'limite_total', 'limite_disp', 'data', ' valor ',
      'grupo_estabelecimento', 'cidade_estabelecimento', 'pais_estabelecimento',
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
    expect(arrow.fields.map((f) => f.name)).toEqual(['txn_id', 'customer_key', 'date', ...FEATURE_DECLARATIONS.map((d) => d.name)]);
    for (const d of FEATURE_DECLARATIONS) {
      const field = arrow.fields.find((f) => f.name === d.name)!;
      expect(field.nullable).toBe(d.nullable);
      const expected = { number: Float64, integer: Int32, boolean: Bool, category: Utf8 }[d.dtype];
      expect(field.type).toBeInstanceOf(expected);
    }
    expect(arrowSchemaFor(MasterRowSchema).fields.map((f) => f.name)).toEqual(expect.arrayContaining(['is_revenge_spending', 'group', 'split', 'fold']));
  });

  it('validates with the compiled ajv validator and names every invalid field', () => {
    const validate = validatorFor(TransactionSchema);
    expect(validatorFor(TransactionSchema)).toBe(validate);
    expect(validate(validTxn)).toBe(true);
    expect(validate({ ...validTxn, age: 'x', amount: -1, extra: 1 })).toBe(false);
    const messages = describeErrors(validate.errors).join('\n');
    expect(messages).toContain('/age');
    expect(messages).toContain('/amount');
    expect(messages).toContain('extra');
  });

  it('accepts its own Swagger example and produces a plain OpenAPI component', () => {
    expect(validatorFor(PredictionRequestSchema)(PREDICTION_EXAMPLE)).toBe(true);
    const component = openApiComponent(PredictionRequestSchema);
    expect(component.$id).toBeUndefined();
    expect(Object.keys(component.properties as object)).toContain('customer_id');
  });
});
