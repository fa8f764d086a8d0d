import fs from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { describeErrors, validatorFor } from '@bolsillo/schema';
import { readJsonl, writeFileAtomic } from './atomic';
import { schemaName } from './paths';

/**
 * Check a parsed file against its contract; throws an error naming the file, the contract and every
 * wrong field (`master/abc/selection.json is not a valid Selection: /features is required`).
 */
export function checkContract<T extends TSchema>(file: string, schema: T, value: unknown): Static<T> {
  const validate = validatorFor(schema);
  if (!validate(value))
    throw new Error(`${file} is not a valid ${schemaName(schema)}: ${describeErrors(validate.errors).join('; ')}`);
  return value;
}

/**
 * Read a file one stage handed to another and validate it against its `@bolsillo/schema` contract.
 * With a `fallback`, a missing file gives the fallback; a present file is always validated.
 *
 * @example const { hash } = readContract(layout.masterLatest, MasterLatestSchema);
 */
export function readContract<T extends TSchema>(file: string, schema: T): Static<T>;
export function readContract<T extends TSchema, F>(file: string, schema: T, fallback: F): Static<T> | F;
export function readContract<T extends TSchema, F>(file: string, schema: T, ...fallback: [F?]): Static<T> | F {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && fallback.length > 0) return fallback[0] as F;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${file}: file not found`);
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return checkContract(file, schema, value);
}

/**
 * Write a file for another stage through its contract: the value has the contract's type, and the
 * JSON text (what readers will parse: NaN becomes null) is validated before it is renamed into
 * place, so a writer can never hand on a file its readers reject. Pretty-printed, trailing newline.
 */
export function writeContract<T extends TSchema>(file: string, schema: T, value: Static<T>): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  checkContract(file, schema, JSON.parse(text));
  writeFileAtomic(file, text);
}

/**
 * Read a JSON-lines file one stage appends to for another (`monitoring/runs.jsonl`) and validate every
 * entry; a missing file is empty, a torn last line is ignored (as {@link readJsonl}).
 */
export function readContractLines<T extends TSchema>(file: string, schema: T): Static<T>[] {
  return readJsonl<unknown>(file).map((entry, i) => checkContract(`${file} entry ${i + 1}`, schema, entry));
}
