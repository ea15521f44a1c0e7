/**
 * The fastify application: validation, auth, idempotency, error shape, OpenAPI,
 * and the route modules. Built from its dependencies so tests can start it on
 * any store.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { DomainError } from '../domain/decider.js';
import { EventStoreUnavailableError, type EventStore } from '../eventstore/event-store.js';
import type { ProjectionRunner } from '../projections/projection-runner.js';
import type { Ticker } from '../processes/ticker.js';
import type { VmaDiscovery } from '../integrations/replication-gateway.js';
import type { ReadModelDb } from '../projections/read-model-db.js';
import { ApiError, fromDomainError, STATUS_OF, type ErrorBody, type ErrorKind } from './api-error.js';
import { authenticate } from './auth.js';
import { IdempotencyStore } from './idempotency.js';
import { describeValidationErrors, validatorCompiler } from './validation.js';
import { errorSchema } from './schemas/common.js';
import { ServiceMetrics } from './metrics.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerGroupRoutes } from './routes/machine-groups.js';
import { registerVmRoutes } from './routes/vm-contexts.js';
import { registerDiscoveryRoutes } from './routes/discovery.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerReportRoutes } from './routes/reports.js';
import { registerAdminRoutes } from './routes/admin.js';
import { ConcurrencyExhaustedError } from '../commands/run-decider.js';

export interface ApiDeps {
  config: Config;
  logger: FastifyBaseLogger;
  store: EventStore;
  readDb: ReadModelDb;
  projections: ProjectionRunner;
  /** VMA discovery (the real VMA or the simulator); absent, the discovery routes answer 503. */
  discovery?: VmaDiscovery;
  /** Null when the service runs without a ticker (then readiness does not ask for one). */
  ticker: (Pick<Ticker, 'health'> & Partial<Pick<Ticker, 'metrics'>>) | null;
  clock: Clock;
  /** The phantom scan (processes/phantom-scanner.ts); absent, POST /jobs/phantom-scan answers 503. */
  phantomScanner?: { scan(): Promise<{ scanned: number; phantom: number; valid: number; errors: number; phantom_job_ids: string[] }> };
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { principal: string; key: string };
  }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Fastify's own client errors, by code, in the error shape's kinds. */
function kindOfFastifyError(error: FastifyError): ErrorKind | null {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'PayloadTooLarge';
  const status = error.statusCode ?? 500;
  if (status === 413) return 'PayloadTooLarge';
  if (status === 404) return 'NotFound';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 429) return 'RateLimited';
  if (status >= 400 && status < 500) return 'ValidationError';
  return null;
}

/** JSON pointer of the first string (or key) that is not well-formed UTF-16, or null. */
function firstMalformedString(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = firstMalformedString(item, `${path}/${index}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!key.isWellFormed()) return `${path}/${key.toWellFormed()}`;
      const found = firstMalformedString(item, `${path}/${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

function requestIdOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { request_id?: unknown };
    return typeof parsed.request_id === 'string' ? parsed.request_id : null;
  } catch {
    return null;
  }
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    // Ids are at most 64 characters: longer ones reach the route and are refused by its schema.
    routerOptions: { maxParamLength: 512 },
    // Errors fastify raises before routing (malformed URL, over-long parameter) in our error shape too.
    frameworkErrors: (error, request, reply) => {
      const body: ErrorBody = { error: 'ValidationError', message: `malformed request: ${error.message}`, request_id: request.id };
      void (reply as FastifyReply).header('x-request-id', request.id).code(400).send(body);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addSchema(errorSchema);

  const idempotency = new IdempotencyStore(deps.readDb.knex);
  await idempotency.init();

  // The hooks every request passes take callbacks, not promises: most requests have
  // nothing for them to wait for, and a promise per hook and request showed in profiles.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith('/api/')) return done();
    // Auth before the body is parsed, so an anonymous caller learns nothing about validation.
    try {
      request.principal = authenticate(deps.config.apiTokens, request);
    } catch (error) {
      return done(error as Error);
    }
    return done();
  });

  // JSON may carry lone UTF-16 surrogates that no database column can hold: refuse them up front.
  app.addHook('preValidation', (request, _reply, done) => {
    const path = firstMalformedString(request.body, '');
    if (path !== null) return done(new ApiError('ValidationError', 'text must be valid Unicode (lone surrogate)', [{ path: path || '/', message: 'not valid Unicode' }]));
    return done();
  });

  /** Claims the request's Idempotency-Key; true when it answered already (a replay). */
  const claimIdempotencyKey = async (request: FastifyRequest, reply: FastifyReply, key: string | string[]): Promise<boolean> => {
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ApiError('ValidationError', 'Idempotency-Key must be 1..255 printable characters', [{ path: 'header:idempotency-key', message: 'invalid' }]);
    }
    const principal = request.principal.name;
    const claim = await idempotency.claim(principal, key, IdempotencyStore.hashRequest(request.method, request.url, request.body), deps.clock.now().getTime());
    if (claim.kind === 'replay') {
      // The first answer, as it was: its request id names the request that did the work.
      const firstRequestId = requestIdOf(claim.answer.body);
      if (firstRequestId) reply.header('x-request-id', firstRequestId);
      reply.header('idempotent-replayed', 'true').code(claim.answer.statusCode).type('application/json');
      reply.send(claim.answer.body);
      return true;
    }
    request.idempotency = { principal, key };
    return false;
  };

  app.addHook('preHandler', (request, reply, done) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined || request.method === 'GET' || !request.url.startsWith('/api/')) return done();
    // A replay has answered: the route does not run.
    claimIdempotencyKey(request, reply, key).then(
      (answered) => {
        if (!answered) done();
      },
      (error: unknown) => done(error as Error),
    );
    return undefined;
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const claim = request.idempotency;
    if (!claim) return done(null, payload);
    request.idempotency = undefined;
    const recorded =
      reply.statusCode >= 500 || typeof payload !== 'string'
        ? idempotency.abandon(claim.principal, claim.key)
        : idempotency.complete(claim.principal, claim.key, { statusCode: reply.statusCode, body: payload });
    recorded.then(
      () => done(null, payload),
      (error: unknown) => done(error as Error),
    );
    return undefined;
  });

  app.setErrorHandler(async (error: FastifyError | ApiError | DomainError | Error, request: FastifyRequest, reply: FastifyReply) => {
    let apiError: ApiError;
    if (error instanceof ApiError) apiError = error;
    else if (error instanceof DomainError) apiError = fromDomainError(error);
    else if (error instanceof ConcurrencyExhaustedError) apiError = new ApiError('Conflict', 'the resource is being changed by others; try again');
    else if (error instanceof EventStoreUnavailableError) {
      request.log.warn({ err: error }, 'event store unavailable');
      apiError = new ApiError('Unavailable', 'the event store is unavailable; nothing was written, try again');
    }
    else if ('validation' in error && Array.isArray(error.validation)) {
      const part = (error as FastifyError).validationContext ?? 'body';
      apiError = new ApiError('ValidationError', `invalid ${part}`, describeValidationErrors(error.validation as never, part));
    } else {
      const kind = kindOfFastifyError(error as FastifyError);
      if (kind) apiError = new ApiError(kind, error.message);
      else {
        request.log.error({ err: error }, 'request failed');
        const body: ErrorBody = { error: 'InternalError', message: 'internal error', request_id: request.id };
        return reply.code(500).send(body);
      }
    }
    if (apiError.statusCode >= 500) request.log.warn({ kind: apiError.kind, message: apiError.message }, 'request unavailable');
    else request.log.info({ kind: apiError.kind, message: apiError.message }, 'request refused');
    const body: ErrorBody = { error: apiError.kind, message: apiError.message, request_id: request.id };
    if (apiError.details.length > 0) body.details = apiError.details;
    return reply.code(STATUS_OF[apiError.kind]).send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body: ErrorBody = { error: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}`, request_id: request.id };
    return reply.code(404).send(body);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Replication scheduler API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await registerHealthRoutes(app, deps);
  const metrics = new ServiceMetrics({ knex: deps.readDb.knex, projections: deps.projections, ticker: deps.ticker });
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids would make one series per resource.
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook('onClose', async () => metrics.close());
  app.get('/metrics', { schema: { tags: ['Operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await app.register(
    async (api) => {
      await registerScheduleRoutes(api, deps);
      await registerGroupRoutes(api, deps);
      await registerVmRoutes(api, deps);
      await registerDiscoveryRoutes(api, deps);
      await registerExecutionRoutes(api, deps);
      await registerAuditRoutes(api, deps);
      await registerReportRoutes(api, deps);
      await registerAdminRoutes(api, deps);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
