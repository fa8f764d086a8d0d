import { Type, type NumberOptions, type TSchema } from '@sinclair/typebox';

/** A value that may be absent: `T | null` in TypeScript, a nullable column in Arrow/Parquet. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * A computed number in a JSON file: JSON has no NaN or ±Infinity, so an undefined statistic (a
 * PR-AUC without positives, a bootstrap bound when the bootstrap is off) is written as null.
 */
export const JsonNumber = (options?: NumberOptions) => Nullable(Type.Number(options));

/** Calendar date as stored everywhere in the pipeline (ISO `YYYY-MM-DD`). */
export const IsoDateSchema = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'Calendar date, ISO 8601 (YYYY-MM-DD).',
  examples: ['2019-12-04'],
});
