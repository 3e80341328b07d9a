// RFC 9457 problem details: every 4xx/5xx the bus answers is application/problem+json with
// {type, title, status, detail}. Handlers throw ProblemError; the error handler below also maps
// Fastify's own errors (body too large, bad JSON, unknown media type) and hides 5xx internals.
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  /** A URI naming the kind of problem; stable, so clients may branch on it. */
  type: string;
  title: string;
  status: number;
  detail: string;
}

export const problemType = (slug: string) => `urn:ringbridge:problem:${slug}`;

export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    /** Extra response headers, e.g. Retry-After on 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${slug}: ${detail}`);
  }

  toProblem(): Problem {
    return { type: problemType(this.slug), title: this.title, status: this.status, detail: this.detail };
  }
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
}

const FASTIFY_ERRORS: Record<string, { slug: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'body-too-large', title: 'Request body too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_JSON_BODY: { slug: 'malformed-body', title: 'Malformed request body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'malformed-body', title: 'Malformed request body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { slug: 'malformed-body', title: 'Malformed request body' },
  FST_ERR_VALIDATION: { slug: 'invalid-request', title: 'Invalid request' },
};

/** Use with setErrorHandler; route plugins install it on their own context too, so order of registration does not matter. */
export function problemErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ProblemError) return sendProblem(reply, error.toProblem(), error.headers);
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { type: problemType('internal'), title: 'Internal error', status, detail: 'The bus could not handle this request; nothing was stored. Retry later.' });
  }
  const known = FASTIFY_ERRORS[error.code] ?? (error.validation ? FASTIFY_ERRORS.FST_ERR_VALIDATION : undefined);
  const slug = known?.slug ?? 'bad-request';
  // Fastify's own 4xx messages describe the request, never server state, so they are safe to show.
  return sendProblem(reply, { type: problemType(slug), title: known?.title ?? 'Bad request', status, detail: error.message });
}

/**
 * problemErrorHandler that also records each 4xx refusal at warn (route, sender address, reason;
 * never bodies or headers), so forged or broken senders are visible with request logging off.
 */
export function refusalLoggingHandler(logger: FastifyBaseLogger, message: string) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const status = error instanceof ProblemError ? error.status : (error.statusCode ?? 500);
    if (status < 500) {
      const reason = error instanceof ProblemError ? error.slug : error.code;
      logger.warn({ reqId: request.id, route: request.routeOptions.url, ip: request.ip, status, reason }, message);
    }
    return problemErrorHandler(error, request, reply);
  };
}

export function notFoundProblem(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, {
    type: problemType('not-found'),
    title: 'Not found',
    status: 404,
    detail: `No route ${request.method} ${request.url.split('?')[0]}`,
  });
}

/** Registers the problem error handler and a problem 404 for the whole app (skip-override). */
export const problemHandler = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(problemErrorHandler);
    app.setNotFoundHandler(notFoundProblem);
  },
  { name: 'ringbridge-problem-handler', fastify: '5.x' },
);
