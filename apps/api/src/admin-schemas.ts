import { Type, type Static } from '@sinclair/typebox';

/** Body of `POST /admin/promote`. */
export const PromoteRequestSchema = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 200, description: 'Registry version to make champion.' }),
    reason: Type.Optional(
      Type.String({ maxLength: 1000, description: 'Why; recorded in the registry audit log (required with force).' }),
    ),
    force: Type.Optional(
      Type.Boolean({
        description:
          'false (default): the promotion gate decides, as `evaluate --version V` does (409 with its reasons when it refuses). true: promote regardless of the gate, as `force-promote` does; needs a reason and is audited as forced.',
      }),
    ),
  },
  { $id: 'PromoteRequest', additionalProperties: false },
);
export type PromoteRequest = Static<typeof PromoteRequestSchema>;

/** Body of `POST /admin/rollback`: the reason is required, as by the `rollback` command. */
export const RollbackRequestSchema = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000, description: 'Why; recorded in the registry audit log.' }) },
  { $id: 'RollbackRequest', additionalProperties: false },
);
export type RollbackRequest = Static<typeof RollbackRequestSchema>;

/** An RFC 9457 problem document, the body of every error answer. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.String(), { description: 'One message per invalid field, e.g. "/age must be integer".' }),
    ),
  },
  { $id: 'Problem' },
);
