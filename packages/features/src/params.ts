import { Type, type Static } from '@sinclair/typebox';

/** Schema of `packages/features/params.json`: the feature kernel's parameters. */
export const FeaturesParamsSchema = Type.Object(
  {
    essentialGroups: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description: 'Merchant groups counted as essential spending (normalised names, e.g. SERVIÇO).',
    }),
    homeCountry: Type.String({ minLength: 2, description: 'Home country code; other known merchant countries count as abroad.' }),
  },
  { $id: 'FeaturesParams', additionalProperties: false },
);

/** The features stage's params. */
export type FeaturesParams = Static<typeof FeaturesParamsSchema>;
