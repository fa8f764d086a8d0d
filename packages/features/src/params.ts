import { packageFile } from '@bolsillo/core';
import { Type, type Static } from '@sinclair/typebox';
import { PARQUET_COMPRESSIONS } from '@bolsillo/core';

/** Schema of `packages/features/params.json`: the feature kernel's parameters plus the store's Parquet codec. */
export const FeaturesParamsSchema = Type.Object(
  {
    essentialGroups: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description: 'Merchant groups counted as essential spending (normalised names, e.g. SERVIÇO).',
    }),
    homeCountry: Type.String({
      minLength: 2,
      description: 'Home country code; other known merchant countries count as abroad.',
    }),
    revengeThreshold: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      description:
        'A transaction is flagged when available / total limit is below this at a non-essential group (the build flag rule; counted in the history features).',
    }),
    parquet: Type.Optional(
      Type.Object(
        {
          compression: Type.Union(
            PARQUET_COMPRESSIONS.map((c) => Type.Literal(c)),
            {
              description:
                'Codecs of the feature-store partitions (only codecs parquetjs-lite, DuckDB and apache-arrow/parquet-wasm all read). ' +
                '"gzip-strings" (default, as every other Parquet file of the pipeline): GZIP for string columns, Snappy for the rest; ' +
                '"snappy": every column Snappy (less encode CPU, about 1.2× the bytes; docs/bench-storage.md); "gzip": every column GZIP ' +
                '(smallest, slowest); "uncompressed": no codec (about twice "snappy"). Not part of the config ' +
                'hash (the content is identical): run with --full to rewrite an existing store in another codec.',
            },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'FeaturesParams', additionalProperties: false },
);

/** The features stage's params. */
export type FeaturesParams = Static<typeof FeaturesParamsSchema>;

/** The stage's params file, found from this package (not the working directory), so the CLI runs from any folder. */
export const DEFAULT_PARAMS_FILE = packageFile(__dirname, 'params.json');
