import { packageFile } from '@bolsillo/core';
import { Type, type Static } from '@sinclair/typebox';
import { QUASI_IDENTIFIERS } from './parse-file';

/** The ingest stage's params (`packages/ingest/params.json`). */
export const IngestParamsSchema = Type.Object(
  {
    min_age: Type.Integer({ minimum: 0, description: 'Youngest plausible card holder.' }),
    max_age: Type.Integer({ maximum: 130, description: 'Oldest plausible card holder.' }),
    chunk_bytes: Type.Integer({ minimum: 4096, description: 'Read size: bounds the working memory of the parser.' }),
    spill_rows: Type.Integer({
      minimum: 1,
      description: 'Valid rows held in memory before they are spilled to temporary Arrow files (bounds memory).',
    }),
    parse_workers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 64,
        description:
          'Worker threads parsing byte ranges of a large file beside the main thread (default: one per extra core; 0: one pass on the main thread; same output either way).',
      }),
    ),
    parquet_workers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1,
        description:
          'Worker threads encoding Parquet beside the main thread (0: main thread only; same bytes either way).',
      }),
    ),
    bad_file_policy: Type.Optional(
      Type.Union([Type.Literal('warn'), Type.Literal('fail')], {
        description:
          'A file that cannot be ingested at all (wrong header, undecodable bytes, no valid row): `warn` quarantines it with its reason and ingests the others (default); `fail` stops the run and writes nothing.',
      }),
    ),
    k_anonymity: Type.Optional(
      Type.Object(
        {
          min_k: Type.Integer({
            minimum: 1,
            description:
              'Smallest acceptable group of customers sharing the same quasi-identifiers; below it the run warns.',
          }),
          quasi_identifier_sets: Type.Array(
            Type.Array(Type.Union(QUASI_IDENTIFIERS.map((q) => Type.Literal(q))), { minItems: 1 }),
            {
              minItems: 1,
              description: 'Combinations of customer attributes an attacker may know; k is reported for each.',
            },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** Ingest params. */
export type IngestParams = Static<typeof IngestParamsSchema>;

/** k-anonymity settings used when the params file has none. */
export const DEFAULT_K_ANONYMITY: NonNullable<IngestParams['k_anonymity']> = {
  min_k: 5,
  quasi_identifier_sets: [
    ['age', 'sex', 'city', 'state'],
    ['age', 'sex', 'state'],
    ['sex', 'city', 'state'],
  ],
};

/** The default params file beside the package. */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');
