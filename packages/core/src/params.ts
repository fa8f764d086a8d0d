import fs from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { describeErrors, validatorFor } from '@bolsillo/schema';

/**
 * Read a stage's params file and validate it against the stage's params schema.
 * Throws an error naming the file and every invalid field.
 */
export function loadParams<T extends TSchema>(file: string, schema: T): Static<T> {
  if (!fs.existsSync(file)) throw new Error(`params file ${file} not found`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`params file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const validate = validatorFor(schema);
  if (!validate(value))
    throw new Error(`params file ${file} is invalid: ${describeErrors(validate.errors).join('; ')}`);
  return value as Static<T>;
}
