import fs from 'node:fs';
import path from 'node:path';
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

/**
 * A file at the root of the package whose code runs from `dir` (pass `__dirname`): the nearest folder
 * at or above `dir` that holds a `package.json`. Every stage finds its default `params.json` this way,
 * so the Nx pipeline (run from the workspace root), a CLI run from any other folder, the sources under
 * tsx and the compiled `dist/` all read the same file.
 *
 * @example export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');
 */
export function packageFile(dir: string, name: string): string {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (fs.existsSync(path.join(current, 'package.json'))) return path.join(current, name);
    if (current === path.dirname(current)) throw new Error(`no package.json at or above ${dir}`);
  }
}
