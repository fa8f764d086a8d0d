import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BatchPredictionRequestSchema,
  PredictionRequestSchema,
  describeErrors,
  validatorFor,
  type PredictionRequest,
} from '@bolsillo/schema';
import { InvalidRequestError, NotReadyError, type Serving } from '@bolsillo/serve';
import { HttpProblem, problemBody } from './problem';

const validSingle = validatorFor(PredictionRequestSchema);
const validBatch = validatorFor(BatchPredictionRequestSchema);

/** At most this many field errors are listed; a 1,000-row batch of empty objects would otherwise list 13,000. */
export const MAX_LISTED_ERRORS = 200;

/** "1 invalid field", "3 invalid fields". */
function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** A 400 problem listing invalid fields, one message per field (capped at {@link MAX_LISTED_ERRORS}). */
export function invalid(title: string, errors: string[]): HttpProblem {
  const listed =
    errors.length > MAX_LISTED_ERRORS
      ? [...errors.slice(0, MAX_LISTED_ERRORS), `... and ${errors.length - MAX_LISTED_ERRORS} more`]
      : errors;
  return new HttpProblem(400, title, count(errors.length, 'invalid field'), listed);
}

/** The answer to `POST /predict`, ready to write: serialised once, by whichever HTTP path sends it. */
export interface PredictAnswer {
  readonly body: string;
  readonly modelVersion: string;
  /** Set for a single transaction (a batch carries one id per prediction in its body). */
  readonly requestId: string | null;
}

/**
 * `POST /predict` apart from HTTP: validate the parsed body with the shared schema, score it through
 * packages/serve and serialise the answer. Throws {@link HttpProblem} for every client error; both the
 * express route and the fast path call it, so they answer identically. Synchronous with the embedded
 * online store; a promise when the customers' states must be read first (Redis).
 */
export function predictAnswer(serving: Serving, body: unknown): PredictAnswer | Promise<PredictAnswer> {
  const isBatch = Array.isArray(body);
  const valid = isBatch ? validBatch(body) : validSingle(body);
  if (!valid) {
    throw invalid('Invalid prediction request', describeErrors(isBatch ? validBatch.errors : validSingle.errors));
  }
  const requests = isBatch ? (body as PredictionRequest[]) : [body as PredictionRequest];
  const pending = serving.features.prefetch(requests);
  if (pending === null) return scoreAnswer(serving, requests, isBatch);
  return pending.then((states) => serving.features.withStates(states, () => scoreAnswer(serving, requests, isBatch)));
}

function scoreAnswer(serving: Serving, requests: PredictionRequest[], isBatch: boolean): PredictAnswer {
  let result;
  try {
    result = serving.service.predict(requests, isBatch);
  } catch (error) {
    if (error instanceof NotReadyError) throw new HttpProblem(503, 'Not ready', error.message);
    if (error instanceof InvalidRequestError) {
      if (error.status === 400) throw invalid('Invalid prediction request', error.errors);
      throw new HttpProblem(
        422,
        'Unprocessable prediction request',
        `${count(error.errors.length, 'row')} cannot be scored`,
        error.errors.slice(0, MAX_LISTED_ERRORS),
      );
    }
    throw error;
  }
  const modelVersion = result.versions.join(',');
  if (isBatch) return { body: JSON.stringify({ predictions: result.predictions }), modelVersion, requestId: null };
  const single = result.predictions[0]!;
  return { body: JSON.stringify(single), modelVersion, requestId: single.request_id };
}

/** Largest body, in bytes, for a `bytes`-style limit (`100kb`, `1mb`); null when it cannot be read. */
export function limitBytes(limit: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m) return null;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[
    (m[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'
  ];
  return Math.floor(Number(m[1]) * unit);
}

/** The fast path only takes bodies this small (a single transaction is ~400 bytes); larger ones go through express. */
const FAST_MAX_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** What the fast path needs from the app. */
export interface FastPredictDeps {
  readonly serving: Serving;
  readonly bodyLimit: string;
  readonly log: (message: string) => void;
}

/**
 * A fast path for the common request, `POST /predict` with a small `application/json` body of known
 * length: read the body, parse, then {@link predictAnswer} and one `writeHead` + `end`, without the
 * express router, body-parser or `res.json`. They cost more CPU than validating, featurising and
 * scoring a transaction together (docs/bench-api.md). Returns false, having touched nothing, for any
 * other request (other routes, chunked or compressed bodies, other content types or charsets, large
 * bodies), which express then handles with the full middleware stack; the answers are the same
 * either way (same validation, problem+json errors, headers, metrics and prediction log).
 */
export function createFastPredict(deps: FastPredictDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { serving, log } = deps;
  const maxBytes = Math.min(FAST_MAX_BYTES, limitBytes(deps.bodyLimit) ?? 0);
  const requests = serving.metrics.requests;
  const latency = serving.metrics.latency;

  // Frozen label sets: the metrics registry keys them once (see labelKey in packages/serve).
  const routeLabels = Object.freeze({ route: '/predict' });
  const okLabels = Object.freeze({ route: '/predict', method: 'POST', status: '200' });
  function finish(t0: number, status: number): void {
    requests.inc(status === 200 ? okLabels : { route: '/predict', method: 'POST', status: String(status) });
    latency.observe(routeLabels, (performance.now() - t0) / 1000);
  }

  function send(res: ServerResponse, t0: number, a: PredictAnswer): void {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(a.body),
      'x-model-version': a.modelVersion,
    };
    if (a.requestId !== null) headers['x-request-id'] = a.requestId;
    res.writeHead(200, headers);
    res.end(a.body);
    finish(t0, 200);
  }

  function fail(res: ServerResponse, t0: number, error: unknown): void {
    let problem: HttpProblem;
    if (error instanceof HttpProblem) {
      problem = error;
    } else {
      log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      problem = new HttpProblem(500, 'Internal server error', 'The error was logged.');
    }
    const text = problemBody(problem.status, problem.title, problem.detail, problem.errors);
    res.writeHead(problem.status, {
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    finish(t0, problem.status);
  }

  function answer(res: ServerResponse, t0: number, raw: string): void {
    let a: PredictAnswer | Promise<PredictAnswer>;
    try {
      const first = raw.trimStart()[0];
      // body-parser's strict mode: only objects and arrays are JSON bodies here.
      if (first !== '{' && first !== '[')
        throw malformed(
          `Unexpected token ${first === undefined ? 'end of input' : JSON.stringify(first)} in JSON at position ${raw.length - raw.trimStart().length}`,
        );
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (error) {
        throw malformed((error as Error).message);
      }
      a = predictAnswer(serving, body);
    } catch (error) {
      fail(res, t0, error);
      return;
    }
    if (a instanceof Promise)
      a.then(
        (v) => send(res, t0, v),
        (error: unknown) => fail(res, t0, error),
      );
    else send(res, t0, a);
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/predict') return false;
    const h = req.headers;
    const type = h['content-type'];
    const length = h['content-length'];
    if (type === undefined || length === undefined || h['transfer-encoding'] !== undefined) return false;
    if (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity') return false;
    if (type !== 'application/json' && !JSON_TYPE.test(type)) return false;
    const n = Number(length);
    if (!(n > 0 && n <= maxBytes)) return false;

    const t0 = performance.now();
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    // An aborted upload ends here: nothing to answer, and the error must not go unhandled.
    req.on('error', () => undefined);
    req.on('end', () => {
      if (received !== n) {
        // The same answer body-parser gives a body whose size does not match Content-Length.
        const text = problemBody(
          400,
          'Request size did not match Content-Length',
          'request size did not match content length',
        );
        res.writeHead(400, {
          'content-type': 'application/problem+json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        finish(t0, 400);
        return;
      }
      answer(res, t0, (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)).toString('utf8'));
    });
    return true;
  };
}

function malformed(message: string): HttpProblem {
  return new HttpProblem(400, 'Malformed JSON', message);
}
