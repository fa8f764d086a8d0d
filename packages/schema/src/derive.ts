import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { Bool, Field, Float64, Int32, Schema, Utf8, type DataType } from 'apache-arrow';
import type { Static, TObject, TSchema } from '@sinclair/typebox';

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false });
addFormats(ajv);
// Annotation keywords used by the schemas (documentation only).
ajv.addKeyword({ keyword: 'canonical', schemaType: 'string' });

const cache = new WeakMap<TSchema, ValidateFunction>();

/** The ajv validator for a schema, compiled once and reused. */
export function validatorFor<T extends TSchema>(schema: T): ValidateFunction<Static<T>> {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn as ValidateFunction<Static<T>>;
}

/** Human-readable list of ajv errors, one per invalid field: `/age must be integer`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || (e.params && 'missingProperty' in e.params ? `/${String(e.params.missingProperty)}` : '/');
    const extra = e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
}

interface JsonSchemaLike {
  type?: string | string[];
  anyOf?: JsonSchemaLike[];
  const?: unknown;
}

function arrowType(schema: JsonSchemaLike): { type: DataType; nullable: boolean } {
  if (schema.anyOf) {
    const nonNull = schema.anyOf.filter((s) => s.type !== 'null');
    const nullable = nonNull.length !== schema.anyOf.length;
    if (nonNull.every((s) => s.const !== undefined && typeof s.const === 'string')) return { type: new Utf8(), nullable };
    if (nonNull.length !== 1) throw new Error('arrowType: unions other than T | null need a single type');
    return { type: arrowType(nonNull[0]!).type, nullable };
  }
  switch (schema.type) {
    case 'string':
      return { type: new Utf8(), nullable: false };
    case 'integer':
      return { type: new Int32(), nullable: false };
    case 'number':
      return { type: new Float64(), nullable: false };
    case 'boolean':
      return { type: new Bool(), nullable: false };
    default:
      if (schema.const !== undefined && typeof schema.const === 'string') return { type: new Utf8(), nullable: false };
      throw new Error(`arrowType: unsupported JSON Schema type ${JSON.stringify(schema.type)}`);
  }
}

/** The Arrow schema (and so the Parquet schema) of an object schema, fields in declaration order. */
export function arrowSchemaFor(schema: TObject): Schema {
  const required = new Set(schema.required ?? []);
  return new Schema(
    Object.entries(schema.properties).map(([name, prop]) => {
      const { type, nullable } = arrowType(prop as JsonSchemaLike);
      return new Field(name, type, nullable || !required.has(name));
    }),
  );
}

/** A schema as an OpenAPI 3.1 component: TypeBox's symbols and `$id` dropped. */
export function openApiComponent(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value))) as Record<string, unknown>;
}
