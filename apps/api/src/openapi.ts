import {
  AliasesSchema,
  BatchPredictionResponseSchema,
  FeedbackSchema,
  MAX_BATCH,
  ModelCardSchema,
  PREDICTION_EXAMPLE,
  PredictionRequestSchema,
  PredictionResponseSchema,
  TRANSACTION_PUSH_EXAMPLE,
  TransactionPushResponseSchema,
  TransactionPushSchema,
  openApiComponent,
} from '@bolsillo/schema';
import { ProblemSchema, PromoteRequestSchema, RollbackRequestSchema } from './admin-schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
const json = (schema: unknown, description: string, example?: unknown) => ({
  description,
  content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
});

/**
 * The OpenAPI 3.1 document of the API, generated from the shared schemas (the components are the
 * schema package's definitions, not a second copy).
 */
export function openApiDocument(version: string): Record<string, unknown> {
  const adminSecurity = [{ adminKey: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bolsillo revenge-spending API',
      version,
      description:
        'Scores card transactions for revenge spending (available limit / total limit < 0.20 on a non-essential merchant group) with the champion model of the registry.\n\n' +
        'Open **POST /predict**, click *Try it out*, then *Execute*: the example is a real-looking transaction.\n\n' +
        '**Unknown fields are rejected** (400 naming each one), so that a misspelt field never silently becomes a missing value. ' +
        `A batch is a JSON array of at most ${MAX_BATCH} transactions. Bodies must be \`application/json\` (else 415) and at most the configured limit (else 413). ` +
        'Every error is `application/problem+json`.',
    },
    paths: {
      '/predict': {
        post: {
          summary: 'Score one transaction or a batch',
          description:
            "With `customer_id` the id is pseudonymised exactly as ingest does and the online feature store supplies the customer's history features; " +
            "without it (or when the transaction is dated before the customer's latest stored one, which the store cannot answer point-in-time) the transaction is scored as the customer's first. The answering version is in the `x-model-version` response header " +
            '(comma-separated when a batch was split between champion and challenger).',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    ref('PredictionRequest'),
                    { type: 'array', items: ref('PredictionRequest'), minItems: 1, maxItems: MAX_BATCH },
                  ],
                },
                examples: {
                  single: { summary: 'One transaction', value: PREDICTION_EXAMPLE },
                  batch: {
                    summary: 'A batch of two',
                    value: [
                      PREDICTION_EXAMPLE,
                      { ...PREDICTION_EXAMPLE, merchant_group: 'SUPERMERCADOS', amount: 82.5 },
                    ],
                  },
                },
              },
            },
          },
          responses: {
            '200': {
              description:
                'A prediction (for one transaction) or `{ predictions: [...] }` in input order (for a batch).',
              headers: {
                'x-model-version': { description: 'Registry version(s) that answered.', schema: { type: 'string' } },
                'x-request-id': { description: 'Request id of a single prediction.', schema: { type: 'string' } },
              },
              content: {
                'application/json': { schema: { oneOf: [ref('PredictionResponse'), ref('BatchPredictionResponse')] } },
              },
            },
            '400': problem('Invalid JSON, or fields that fail validation (each named in `errors`), or unknown fields.'),
            '413': problem('Body larger than the limit.'),
            '415': problem('Content type is not application/json.'),
            '503': problem('No model is loaded yet.'),
          },
        },
      },
      '/transactions': {
        post: {
          summary: 'Push transactions that happened into the online feature store',
          description:
            "Each transaction is pseudonymised like ingest does, appended durably to the landing folder that the next ingest reads, and folded into its customer's " +
            'online state with the same feature kernel as the batch path, so the next `/predict` for that customer sees it. Idempotent by `txn_id` ' +
            '(a repeated push answers `duplicate` and changes nothing) and safe with several API processes on one store. A batch (array, at most 1,000) is applied in order.',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    ref('TransactionPush'),
                    { type: 'array', items: ref('TransactionPush'), minItems: 1, maxItems: 1000 },
                  ],
                },
                examples: { single: { summary: 'One transaction', value: TRANSACTION_PUSH_EXAMPLE } },
              },
            },
          },
          responses: {
            '200': json(ref('TransactionPushResponse'), 'One outcome per transaction, in order.'),
            '400': problem('Invalid JSON, or fields that fail validation (each named in `errors`), or unknown fields.'),
            '413': problem('Body larger than the limit.'),
            '415': problem('Content type is not application/json.'),
          },
        },
      },
      '/feedback': {
        post: {
          summary: 'Report the true label of an earlier prediction',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: ref('Feedback'),
                example: { request_id: '00000000-0000-4000-8000-000000000000', is_revenge_spending: true },
              },
            },
          },
          responses: {
            '202': json(
              { type: 'object', properties: { accepted: { type: 'boolean' } } },
              'Recorded in the feedback log.',
            ),
            '400': problem('Invalid body.'),
            '404': problem(
              'No prediction with this request_id (in this process or the prediction log of the last 30 days).',
            ),
            '415': problem('Not JSON.'),
          },
        },
      },
      '/health': { get: { summary: 'Liveness', responses: { '200': json({ type: 'object' }, 'The process is up.') } } },
      '/ready': {
        get: {
          summary: 'Readiness: a champion model is loaded',
          responses: { '200': json({ type: 'object' }, 'Ready.'), '503': problem('No model loaded yet.') },
        },
      },
      '/models': {
        get: {
          summary: 'Registry versions, aliases and the loaded models',
          responses: {
            '200': json(
              {
                type: 'object',
                properties: {
                  aliases: { oneOf: [ref('Aliases'), { type: 'null' }] },
                  versions: { type: 'array', items: { type: 'object' } },
                },
              },
              'Registry view.',
            ),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'Prometheus text format 0.0.4.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/monitoring': {
        get: {
          summary: 'Monitoring dashboard (HTML)',
          responses: {
            '200': {
              description: 'Self-contained HTML page.',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/reports/{path}': {
        get: {
          summary: 'Evaluation reports (static files)',
          parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' }, example: 'index.html' }],
          responses: { '200': { description: 'The file.' }, '404': problem('No such report.') },
        },
      },
      '/admin/promote': {
        post: {
          summary:
            'Make a version the champion: through the promotion gate, or forced with a reason (audited as forced)',
          security: adminSecurity,
          requestBody: { required: true, content: { 'application/json': { schema: ref('PromoteRequest') } } },
          responses: {
            '200': json({ type: 'object' }, 'Promoted; the new champion is loaded and smoke-tested before it answers.'),
            '401': problem('Missing or wrong x-api-key.'),
            '400': problem('Invalid body, or force without a reason.'),
            '403': problem('Admin routes are disabled (BOLSILLO_ADMIN_KEY unset).'),
            '404': problem('Unknown version.'),
            '409': problem('The gate refused the version (its reasons in detail), or it could not be evaluated.'),
          },
        },
      },
      '/admin/rollback': {
        post: {
          summary: 'Make the previous champion the champion again',
          security: adminSecurity,
          requestBody: { required: true, content: { 'application/json': { schema: ref('RollbackRequest') } } },
          responses: {
            '200': json({ type: 'object' }, 'Rolled back.'),
            '401': problem('Missing or wrong x-api-key.'),
            '403': problem('Admin routes are disabled.'),
            '409': problem('Nothing to roll back to.'),
          },
        },
      },
    },
    components: {
      securitySchemes: { adminKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: {
        PredictionRequest: openApiComponent(PredictionRequestSchema),
        PredictionResponse: openApiComponent(PredictionResponseSchema),
        BatchPredictionResponse: openApiComponent(BatchPredictionResponseSchema),
        TransactionPush: openApiComponent(TransactionPushSchema),
        TransactionPushResponse: openApiComponent(TransactionPushResponseSchema),
        Feedback: openApiComponent(FeedbackSchema),
        Aliases: openApiComponent(AliasesSchema),
        ModelCard: openApiComponent(ModelCardSchema),
        PromoteRequest: openApiComponent(PromoteRequestSchema),
        RollbackRequest: openApiComponent(RollbackRequestSchema),
        Problem: openApiComponent(ProblemSchema),
      },
    },
  };
}
