/**
 * The manifests of the lake (ingest) and of the offline feature store (features): what the next
 * stage, the next incremental run and monitoring read about the data they describe.
 */
import { Type, type Static } from '@sinclair/typebox';
import { IsoDateSchema, Nullable } from './common';

const Count = Type.Integer({ minimum: 0 });

/** k-anonymity of one quasi-identifier set. */
export const KAnonymitySetSchema = Type.Object({
  quasi_identifiers: Type.Array(Type.String()),
  k: Nullable(
    Type.Number({ description: 'Smallest number of customers sharing one combination of values (null: none).' }),
  ),
  groups: Type.Optional(Count),
  customers: Type.Optional(Count),
  groups_below: Type.Optional(Count),
  customers_below: Type.Optional(Count),
  ok: Type.Boolean(),
});

/** k-anonymity per quasi-identifier set against a minimum. */
export const KAnonymityReportSchema = Type.Object({
  min_k: Type.Integer({ minimum: 1 }),
  sets: Type.Array(KAnonymitySetSchema),
  ok: Type.Boolean({ description: 'Every set reaches the minimum.' }),
});
export type KAnonymityRecord = Static<typeof KAnonymityReportSchema>;

/** `lake/manifest.json` (and a shard's `lake/shards/<i>-of-<N>/manifest.json`): the source files ingested and the partitions they made. */
export const IngestManifestSchema = Type.Object(
  {
    version: Type.Literal(1),
    files: Type.Record(
      Type.String(),
      Type.Object({
        sha256: Type.String(),
        bytes: Count,
        encoding: Type.String(),
        rows_in: Count,
        rows_out: Count,
        quarantined: Count,
        duplicates: Count,
        partitions: Type.Record(Type.String(), Count, { description: 'Date → rows the file put there.' }),
      }),
    ),
    partitions: Type.Record(
      Type.String(),
      Type.Object({
        rows: Count,
        sha256: Type.String({
          description: "sha256 of part-0.parquet's bytes; for a sharded lake, over its parts' names and hashes.",
        }),
        parts: Type.Optional(
          Type.Record(Type.String(), Type.Object({ rows: Count, sha256: Type.String() }), {
            description: "A sharded lake's part files of the date (`part-<i>.parquet`).",
          }),
        ),
      }),
      { description: 'Every partition (date): rows and hash.' },
    ),
    content_hash: Type.String({ description: 'sha256 over the partition hashes: same inputs, same hash.' }),
    secret_fingerprint: Type.Optional(
      Type.String({ description: 'Fingerprint of the pseudonymisation secret (never the secret).' }),
    ),
    rejected: Type.Optional(
      Type.Record(Type.String(), Type.Object({ sha256: Type.String(), reason: Type.String() }), {
        description: 'Files quarantined whole, with their hash and the reason.',
      }),
    ),
    k_anonymity: Type.Optional(KAnonymityReportSchema),
    shards: Type.Optional(Type.Integer({ minimum: 1, description: 'Shards the lake was written by.' })),
    k_anonymity_groups: Type.Optional(
      Type.Array(Type.Record(Type.String(), Count), {
        description: "A shard's manifest: customers per quasi-identifier combination, per set (the merge adds them).",
      }),
    ),
  },
  { title: 'IngestManifest' },
);
export type IngestManifestRecord = Static<typeof IngestManifestSchema>;

/** The feature kernel's params (`FeatureParams` in core), as the feature store records them. */
export const FeatureParamsSchema = Type.Object({
  essentialGroups: Type.Array(Type.String(), { description: 'Merchant groups counted as essential spending.' }),
  homeCountry: Type.String({ description: "Country code of the bank's home market." }),
  revengeThreshold: Type.Number({
    description: 'Available / total limit below which a non-essential transaction is flagged.',
  }),
});

/** `feature-store/manifest.json`: what the offline store was computed from and with. */
export const FeatureStoreManifestSchema = Type.Object(
  {
    version: Type.Literal(1),
    config_hash: Type.String({ description: 'Hash of the params and the feature declarations.' }),
    params: Type.Optional(FeatureParamsSchema),
    inputs: Type.Record(Type.String(), Type.String(), { description: 'Lake partition date → hash of its files.' }),
    as_of: Nullable(IsoDateSchema),
    updated_at: Type.String(),
    shards: Type.Optional(Type.Integer({ minimum: 1, description: 'Shards the store was written by.' })),
    empty_dates: Type.Optional(
      Type.Array(IsoDateSchema, {
        description: "A shard's manifest: lake dates on which the shard has no rows (no part file).",
      }),
    ),
  },
  { title: 'FeatureStoreManifest' },
);
export type FeatureStoreManifestRecord = Static<typeof FeatureStoreManifestSchema>;
