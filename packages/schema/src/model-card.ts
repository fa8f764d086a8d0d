import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common';

/** Model families the registry knows. Baselines are registered too, so they can be compared and served. */
export const MODEL_FAMILIES = ['logistic', 'mlp', 'prior', 'rule'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/**
 * The model card (`data/registry/models/<version>/card.json`): everything needed to trust, reproduce
 * and serve a model. Preprocessing and calibration state live here (data, never code).
 */
export const ModelCardSchema = Type.Object(
  {
    version: Type.String(),
    created_at: Type.String(),
    family: Type.Union(MODEL_FAMILIES.map((f) => Type.Literal(f))),
    features: Type.Array(Type.String(), { description: 'Model input features, in order.' }),
    preprocessing: Type.Record(Type.String(), Type.Unknown(), { description: 'Fitted on the training split only.' }),
    calibration: Type.Record(Type.String(), Type.Unknown()),
    threshold: Type.Number({ description: 'Decision threshold on the calibrated probability.' }),
    master_hash: Type.String({ description: 'Content hash of the master table trained on.' }),
    params: Type.Record(Type.String(), Type.Unknown()),
    cv: Type.Record(Type.String(), Type.Unknown()),
    metrics: Type.Record(Type.String(), Type.Number()),
    training_seconds: Type.Number(),
    backend: Type.String({ description: 'TensorFlow.js backend that trained the model.' }),
    code_version: Type.String(),
    parent: Type.Optional(Nullable(Type.String())),
  },
  { $id: 'ModelCard' },
);
export type ModelCard = Static<typeof ModelCardSchema>;
