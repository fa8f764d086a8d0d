import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import {
  BatchTransactionPushSchema,
  FeedbackSchema,
  TransactionPushSchema,
  describeErrors,
  validatorFor,
  type TransactionPush,
  type Aliases,
  type ModelCard,
} from '@bolsillo/schema';
import { InvalidRequestError, PUSH_OUTCOMES, type PushOutcome, type Serving } from '@bolsillo/serve';
import { PromoteRequestSchema, RollbackRequestSchema } from './admin-schemas';
import { openApiDocument } from './openapi';
import { createFastPredict, invalid, predictAnswer } from './predict-route';
import { HttpProblem, problemHandler, sendProblem } from './problem';

/**
 * The registry operations the API needs: exactly the evaluate stage's commands in production
 * (`runEvaluate` for a gated promotion, `runForcePromote`, `runRollback`), so that the admin routes
 * cannot bypass the gate or the audit.
 */
export interface RegistryOps {
  listVersions(registryDir: string): ModelCard[];
  /** Evaluate `version` and promote it only if the gate passes (`evaluate --version V`). */
  gatedPromote(
    dataDir: string,
    version: string,
  ): Promise<{
    readonly verdict: { readonly decision: string; readonly promoted?: boolean; readonly reasons: readonly string[] };
  }>;
  /** Promote regardless of the gate, audited as forced (`force-promote --version V --reason R`). */
  forcePromote(dataDir: string, version: string, reason: string): unknown;
  /** previous → champion, audited (`rollback --reason R`). */
  rollback(dataDir: string, reason: string): unknown;
}

/** What {@link createApp} is built from. */
export interface AppDeps {
  readonly serving: Serving;
  readonly registry: RegistryOps;
  /** Admin API key; null disables the admin routes (403). */
  readonly adminKey: string | null;
  /** Body size limit (`1mb` by default). */
  readonly bodyLimit?: string;
  /** The monitoring dashboard (monitor's `renderMonitoringPage` over the data folder). */
  readonly monitoringPage?: () => string;
  readonly log?: (message: string) => void;
  /** API version shown in the OpenAPI document. */
  readonly version?: string;
}

const validFeedback = validatorFor(FeedbackSchema);
const validPush = validatorFor(TransactionPushSchema);
const validPushBatch = validatorFor(BatchTransactionPushSchema);
const validPromote = validatorFor(PromoteRequestSchema);
const validRollback = validatorFor(RollbackRequestSchema);
/** Frozen label sets of the push-outcome counter (the metrics registry keys a frozen set once). */
const OUTCOME_LABELS = Object.fromEntries(
  PUSH_OUTCOMES.map((outcome) => [outcome, Object.freeze({ outcome })]),
) as Record<PushOutcome, Readonly<{ outcome: PushOutcome }>>;

/** Route label for metrics: the matched route, never the raw URL (bounded cardinality). */
function routeOf(req: Request, res: Response): string {
  return (res.locals.route as string | undefined) ?? (req.route?.path as string | undefined) ?? 'unmatched';
}

/** Requests with a body must declare JSON; bodiless ones pass (validation then names what is missing). */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new HttpProblem(
        415,
        'Unsupported media type',
        `expected application/json, got ${req.headers['content-type'] ?? 'no content type'}`,
      ),
    );
    return;
  }
  next();
}

function keyMatches(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * Build the express app over a wired {@link Serving}. Never listens (main.ts does; tests use
 * supertest). Routes stay thin: validation with the shared validators, then packages/serve.
 */
export function createApp(deps: AppDeps): express.Express {
  const { serving } = deps;
  const log = deps.log ?? ((m: string) => process.stderr.write(`[api] ${m}\n`));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const doc = openApiDocument(deps.version ?? '0.1.0');

  app.use((req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => {
      const route = routeOf(req, res);
      serving.metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      serving.metrics.latency.observe({ route }, (performance.now() - t0) / 1000);
    });
    next();
  });

  const json = express.json({ limit: deps.bodyLimit ?? '1mb', strict: true });

  // Everything the fast path declines (chunked, compressed, large, other content types) lands here.
  app.post('/predict', requireJson, json, async (req, res) => {
    res.locals.route = '/predict';
    const a = await predictAnswer(serving, req.body);
    res.setHeader('x-model-version', a.modelVersion);
    if (a.requestId !== null) res.setHeader('x-request-id', a.requestId);
    res.type('application/json').send(a.body);
  });

  app.post('/transactions', requireJson, json, async (req, res) => {
    res.locals.route = '/transactions';
    const isBatch = Array.isArray(req.body);
    const pushes = serving.metrics.pushes;
    // A request is refused whole: every transaction in it counts as invalid.
    const refused = (errors: string[]) => {
      pushes.inc(OUTCOME_LABELS.invalid, isBatch ? (req.body as unknown[]).length : 1);
      return invalid('Invalid transaction', errors);
    };
    const valid = isBatch ? validPushBatch(req.body) : validPush(req.body);
    if (!valid) throw refused(describeErrors(isBatch ? validPushBatch.errors : validPush.errors));
    let results;
    try {
      results = await serving.push.push(
        isBatch ? (req.body as TransactionPush[]) : [req.body as TransactionPush],
        isBatch,
      );
    } catch (error) {
      if (error instanceof InvalidRequestError) throw refused(error.errors);
      throw error;
    }
    for (const r of results) pushes.inc(OUTCOME_LABELS[r.status]);
    res.json({ results });
  });

  app.post('/feedback', requireJson, json, (req, res) => {
    res.locals.route = '/feedback';
    if (!validFeedback(req.body)) {
      throw invalid('Invalid feedback', describeErrors(validFeedback.errors));
    }
    // A label for a prediction never made would count in the live metrics as if it had been.
    if (!serving.requestIds.has(req.body.request_id)) {
      throw new HttpProblem(
        404,
        'Unknown request id',
        `no prediction with request_id ${req.body.request_id} in the prediction log`,
      );
    }
    const ts = new Date().toISOString();
    serving.feedbackLog.push(ts.slice(0, 10), { ...req.body, ts });
    res.status(202).json({ accepted: true });
  });

  app.get('/', (_req, res) => {
    res.locals.route = '/';
    res.redirect(302, '/docs/');
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptime_seconds: Math.round(process.uptime()) });
  });

  app.get('/ready', async (_req, res) => {
    const champion = serving.host.slot('champion');
    if (!champion) {
      sendProblem(res, 503, 'Not ready', 'no model is loaded yet');
      return;
    }
    // Without its online store a replica would score every customer as new: not ready.
    const store = await serving.features.store.health();
    if (!store.ok) {
      sendProblem(res, 503, 'Not ready', `online store (${store.backend}) unreachable: ${store.detail}`);
      return;
    }
    const challenger = serving.host.slot('challenger');
    res.json({
      status: 'ready',
      champion: champion.version,
      challenger: challenger?.version ?? null,
      online_store: { backend: store.backend, version: store.version },
    });
  });

  app.get('/models', (_req, res) => {
    let versions: ModelCard[] = [];
    try {
      versions = deps.registry.listVersions(serving.registryDir);
    } catch (error) {
      log(`models: could not list versions: ${(error as Error).message}`);
    }
    const loaded = (variant: 'champion' | 'challenger') => {
      const s = serving.host.slot(variant);
      return s
        ? { version: s.version, family: s.model.card.family, threshold: s.model.threshold, loaded_at: s.loadedAt }
        : null;
    };
    const aliases: Aliases | null = serving.host.currentAliases();
    res.json({
      aliases,
      loaded: { champion: loaded('champion'), challenger: loaded('challenger') },
      refused: serving.host.refused(),
      versions: versions.map((c) => ({
        version: c.version,
        family: c.family,
        created_at: c.created_at,
        threshold: c.threshold,
        metrics: c.metrics,
        master_hash: c.master_hash,
      })),
    });
  });

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(serving.metrics.render());
  });

  if (deps.monitoringPage) {
    const page = deps.monitoringPage;
    app.get('/monitoring', (_req, res) => {
      res.type('text/html').send(page());
    });
  }

  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use(
    '/docs',
    (_req: Request, res: Response, next: NextFunction) => {
      res.locals.route = '/docs';
      next();
    },
    swaggerUi.serve,
    swaggerUi.setup(doc, { customSiteTitle: 'Bolsillo API' }),
  );

  app.use(
    '/reports',
    (_req, res, next) => {
      res.locals.route = '/reports';
      next();
    },
    express.static(serving.reportsDir, { fallthrough: true, index: ['index.html'], dotfiles: 'ignore' }),
  );

  const admin = (req: Request, _res: Response, next: NextFunction) => {
    if (deps.adminKey === null) {
      next(new HttpProblem(403, 'Forbidden', 'admin routes are disabled: set BOLSILLO_ADMIN_KEY to enable them'));
      return;
    }
    const given = req.headers['x-api-key'];
    if (typeof given !== 'string' || !keyMatches(given, deps.adminKey)) {
      next(new HttpProblem(401, 'Unauthorized', 'missing or wrong x-api-key header'));
      return;
    }
    next();
  };

  app.post('/admin/promote', admin, requireJson, json, async (req, res) => {
    res.locals.route = '/admin/promote';
    if (!validPromote(req.body)) throw invalid('Invalid promote request', describeErrors(validPromote.errors));
    const { version, reason, force } = req.body;
    const known = deps.registry.listVersions(serving.registryDir).some((c) => c.version === version);
    if (!known) throw new HttpProblem(404, 'Unknown version', `no model ${version} in the registry`);
    let gate: { decision: string; reasons: readonly string[] } | null = null;
    if (force === true) {
      if (!reason?.trim())
        throw invalid('Invalid promote request', [
          '/reason is required when force is true (a forced promotion is audited with its reason)',
        ]);
      try {
        await deps.registry.forcePromote(serving.dataDir, version, reason);
      } catch (error) {
        throw new HttpProblem(409, 'Promotion refused', (error as Error).message);
      }
      log(`admin: force-promoted ${version}: ${reason}`);
    } else {
      let verdict: Awaited<ReturnType<RegistryOps['gatedPromote']>>['verdict'];
      try {
        ({ verdict } = await deps.registry.gatedPromote(serving.dataDir, version));
      } catch (error) {
        throw new HttpProblem(
          409,
          'Promotion refused',
          `the gate could not evaluate ${version}: ${(error as Error).message}`,
        );
      }
      if (!verdict.promoted) {
        throw new HttpProblem(
          409,
          'Promotion refused by the gate',
          `${verdict.decision}: ${verdict.reasons.join(' | ')} (to override, send force: true with a reason)`,
        );
      }
      gate = { decision: verdict.decision, reasons: verdict.reasons };
      log(`admin: ${version} promoted by the gate`);
    }
    await serving.host.checkNow();
    res.json({
      aliases: serving.host.currentAliases(),
      serving: serving.host.slot('champion')?.version ?? null,
      forced: force === true,
      gate,
      refused: serving.host.refused()[version] ?? null,
    });
  });

  app.post('/admin/rollback', admin, requireJson, json, async (req, res) => {
    res.locals.route = '/admin/rollback';
    const body: unknown = req.body ?? {};
    if (!validRollback(body)) throw invalid('Invalid rollback request', describeErrors(validRollback.errors));
    try {
      await deps.registry.rollback(serving.dataDir, body.reason);
    } catch (error) {
      throw new HttpProblem(409, 'Rollback refused', (error as Error).message);
    }
    log('admin: rolled back');
    await serving.host.checkNow();
    res.json({ aliases: serving.host.currentAliases(), serving: serving.host.slot('champion')?.version ?? null });
  });

  app.use((req, _res, next) => {
    next(new HttpProblem(404, 'Not found', `no route ${req.method} ${req.path}`));
  });
  app.use(problemHandler(log));

  // The common request skips express entirely (see createFastPredict); overriding `handle` rather
  // than wrapping the app in main.ts keeps the fast path under every test that drives the app.
  const fast = createFastPredict({ serving, bodyLimit: deps.bodyLimit ?? '1mb', log });
  const expressHandle = (app as unknown as { handle: ExpressHandle }).handle.bind(app);
  (app as unknown as { handle: ExpressHandle }).handle = (req, res, next) => {
    if (!fast(req, res)) expressHandle(req, res, next);
  };
  return app;
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;
