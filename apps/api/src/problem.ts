import type { ErrorRequestHandler, Response } from 'express';

/** An error that becomes an RFC 9457 problem response with its status. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: string[],
  ) {
    super(detail ?? title);
  }
}

/** The `application/problem+json` body of a problem. */
export function problemBody(status: number, title: string, detail?: string, errors?: string[]): string {
  return JSON.stringify({
    type: 'about:blank',
    title,
    status,
    ...(detail ? { detail } : {}),
    ...(errors ? { errors } : {}),
  });
}

/** Send an `application/problem+json` answer. */
export function sendProblem(res: Response, status: number, title: string, detail?: string, errors?: string[]): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(problemBody(status, title, detail, errors));
}

const BODY_PARSER_TITLES: Record<string, string> = {
  'entity.parse.failed': 'Malformed JSON',
  'entity.too.large': 'Request body too large',
  'entity.verify.failed': 'Request body rejected',
  'request.aborted': 'Request aborted',
  'request.size.invalid': 'Request size did not match Content-Length',
  'stream.encoding.set': 'Bad request stream',
  'encoding.unsupported': 'Unsupported content encoding',
  'charset.unsupported': 'Unsupported charset',
  'parameters.too.many': 'Too many parameters',
};

/**
 * The one error middleware: client errors (ours and body-parser's) answer with their 4xx status and
 * a clear message; anything else is a 500 whose details stay in the server log.
 */
export function problemHandler(log: (message: string) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof HttpProblem) {
      sendProblem(res, error.status, error.title, error.detail, error.errors);
      return;
    }
    const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; expose?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500) {
      const title = (typeof e.type === 'string' && BODY_PARSER_TITLES[e.type]) || 'Bad request';
      sendProblem(res, status, title, e.expose !== false && typeof e.message === 'string' ? e.message : undefined);
      return;
    }
    log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    sendProblem(res, 500, 'Internal server error', 'The error was logged.');
  };
}
