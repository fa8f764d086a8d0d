import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { Bool, Field, Float64, Int32, Schema, Utf8, type DataType } from 'apache-arrow';
import type { Static, TObject, TSchema } from '@sinclair/typebox';

// verbose: errors carry the failing value and its schema (examples), so messages can show both.
const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false, verbose: true });
addFormats(ajv);
// Annotation keywords used by the schemas (documentation only).
ajv.addKeyword({ keyword: 'canonical', schemaType: 'string' });

const cache = new WeakMap<TSchema, ValidateFunction>();

/** The ajv validator for a schema, compiled once and reused. */
export function validatorFor<T extends TSchema>(schema: T): ValidateFunction<Static<T>> {
  let fn = cache.get(schema);
  if (!fn) {
    // A schema with an $id may already be known to ajv, embedded in one compiled earlier (the batch
    // request embeds the single request): reuse it, as compiling it again would clash on the id.
    const id = (schema as { $id?: unknown }).$id;
    fn = (typeof id === 'string' ? ajv.getSchema(id) : undefined) ?? ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn as ValidateFunction<Static<T>>;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeWords(type: unknown): string {
  return alternatives(
    String(type)
      .split(',')
      .map((t) => TYPE_WORDS[t] ?? t),
  );
}

/** "a", "a or b", "a, b or c". */
function alternatives(words: readonly string[]): string {
  const unique = [...new Set(words)];
  return unique.length <= 1 ? (unique[0] ?? '') : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
}

/** The value a field had, briefly, for the message; '' for objects and arrays. */
function got(data: unknown): string {
  if (data === undefined || (typeof data === 'object' && data !== null)) return '';
  const text = JSON.stringify(data);
  return ` (got ${text.length > 40 ? `${text.slice(0, 37)}...` : text})`;
}

function plural(n: unknown, word: string): string {
  return `${String(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** One ajv error in the words of the data it checked: where, and what the value must be. */
function describeOne(e: ErrorObject): { field: string; message: string } {
  const p = e.params as Record<string, unknown>;
  const field = e.instancePath;
  switch (e.keyword) {
    case 'required':
      return { field: `${field}/${String(p.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { field: `${field}/${String(p.additionalProperty)}`, message: 'is not a known field' };
    case 'type':
      return { field, message: `must be ${typeWords(p.type)}${got(e.data)}` };
    case 'const':
      return { field, message: `must be ${JSON.stringify(p.allowedValue)}${got(e.data)}` };
    case 'enum':
      return {
        field,
        message: `must be one of ${alternatives((p.allowedValues as unknown[]).map((v) => JSON.stringify(v)))}${got(e.data)}`,
      };
    case 'minimum':
      return { field, message: `must be at least ${String(p.limit)}${got(e.data)}` };
    case 'maximum':
      return { field, message: `must be at most ${String(p.limit)}${got(e.data)}` };
    case 'exclusiveMinimum':
      return { field, message: `must be greater than ${String(p.limit)}${got(e.data)}` };
    case 'exclusiveMaximum':
      return { field, message: `must be less than ${String(p.limit)}${got(e.data)}` };
    case 'minLength':
      return {
        field,
        message:
          p.limit === 1 ? 'must not be empty' : `must have at least ${plural(p.limit, 'character')}${got(e.data)}`,
      };
    case 'maxLength':
      return { field, message: `must have at most ${plural(p.limit, 'character')}` };
    case 'minItems':
      return { field, message: `must have at least ${plural(p.limit, 'item')}` };
    case 'maxItems':
      return { field, message: `must have at most ${plural(p.limit, 'item')}` };
    case 'pattern':
    case 'format': {
      const example = (e.parentSchema as { examples?: unknown[] } | undefined)?.examples?.[0];
      const shape = e.keyword === 'pattern' ? `match ${String(p.pattern)}` : `be a ${String(p.format)}`;
      return {
        field,
        message: `must ${example !== undefined ? `look like ${JSON.stringify(example)}` : shape}${got(e.data)}`,
      };
    }
    default:
      return { field, message: `${e.message ?? 'is invalid'}${got(e.data)}` };
  }
}

/**
 * A union (`anyOf`: a nullable field, a set of literals) in one message. When a branch had the value's
 * type and failed on something else (a negative amount for `number | null`), that branch's reason is
 * the answer; otherwise the message lists what the value may be ("a number or null", "one of "F" or "M"").
 */
function describeUnion(union: ErrorObject, inner: readonly ErrorObject[]): { field: string; message: string } {
  const branches = new Map<string, ErrorObject[]>();
  for (const e of inner) {
    const branch = e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0]!;
    branches.set(branch, [...(branches.get(branch) ?? []), e]);
  }
  const shapeOnly = (e: ErrorObject) =>
    (e.keyword === 'type' || e.keyword === 'const') && e.instancePath === union.instancePath;
  const near = [...branches.values()].find((errors) => !errors.every(shapeOnly));
  if (near) return { field: union.instancePath, message: near.map((e) => describeOne(e).message).join('; ') };
  const shapes = inner.filter(shapeOnly);
  const consts = shapes
    .filter((e) => e.keyword === 'const')
    .map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
  const types = shapes.filter((e) => e.keyword === 'type').map((e) => typeWords((e.params as { type: unknown }).type));
  const words = [...(consts.length > 1 ? [`one of ${alternatives(consts)}`] : consts), ...types];
  return { field: union.instancePath, message: `must be ${alternatives(words)}${got(union.data)}` };
}

/**
 * Readable ajv errors, one line per invalid field, in the data's own terms:
 * `/age must be at least 16 (got 3)`, `/sex must be one of "F" or "M" (got "X")`,
 * `/amount must be a number or null (got "abc")`, `/merchant_group is required`,
 * `/colour is not a known field`. A field's path is a JSON Pointer (`/1/date` for the second item of
 * an array); `/` is the whole value.
 */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  const list = errors ?? [];
  const unions = list.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const inside = (union: ErrorObject, e: ErrorObject) =>
    e !== union &&
    e.schemaPath.startsWith(`${union.schemaPath}/`) &&
    (e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`));
  const byField = new Map<string, string[]>();
  const add = ({ field, message }: { field: string; message: string }) => {
    const messages = byField.get(field || '/') ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field || '/', messages);
  };
  for (const e of list) {
    // Errors inside a union are summarised by the union's own error (ajv reports it after them).
    if (unions.some((u) => inside(u, e))) continue;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf')
      add(
        describeUnion(
          e,
          list.filter((x) => inside(e, x)),
        ),
      );
    else add(describeOne(e));
  }
  return [...byField].map(([field, messages]) => `${field} ${messages.join('; ')}`);
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
    if (nonNull.every((s) => s.const !== undefined && typeof s.const === 'string'))
      return { type: new Utf8(), nullable };
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
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value))) as Record<
    string,
    unknown
  >;
}
