/** Routes under /executions and /jobs (spec/api.md, Executions and jobs); the trigger lives with the schedules. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cancelExecution, recordJobStatus, type JobCommandDeps, type JobStatusReport } from '../../commands/execution-commands.js';
import { ExecutionQueries, JobQueries, type JobFilter } from '../../queries/execution-queries.js';
import { ApiError, notFound } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParams } from '../schemas/common.js';
import { cancelBody, jobIdParams, jobListQuery, jobStatusBody } from '../schemas/execution-schemas.js';
import { answerWrite, commandContext } from '../write-flow.js';

type IdParams = { id: string };

/** POST /jobs/phantom-scan takes no fields: an empty body or `{}`. */
const phantomScanBody = { type: 'object', additionalProperties: false, properties: {} } as const;

const phantomScanAnswer = {
  type: 'object',
  required: ['scanned', 'phantom', 'valid', 'errors', 'phantom_job_ids'],
  properties: {
    scanned: { type: 'integer' },
    phantom: { type: 'integer' },
    valid: { type: 'integer' },
    errors: { type: 'integer' },
    phantom_job_ids: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** A POST whose every field is optional may come without a body: it reads as `{}`. */
export async function bodyOptional(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

export async function registerExecutionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const executions = new ExecutionQueries(deps.readDb.knex);
  const jobs = new JobQueries(deps.readDb.knex);
  /**
   * The execution of a job, from the jobs read model; a job not there yet (an OMA may
   * push a status moments after answering the creation) is looked up again once the
   * read models have caught up with the log as it is now, so a job the log knows is
   * never answered 404.
   */
  const executionOfJob: JobCommandDeps['executionOfJob'] = async (jobId) => {
    const known = await jobs.executionOf(jobId);
    if (known !== null) return known;
    const head = await deps.store.headPosition();
    if (head === null || !(await deps.projections.waitForPosition(head, deps.config.readYourWritesTimeoutMs))) return null;
    return jobs.executionOf(jobId);
  };
  const jobDeps: JobCommandDeps = { store: deps.store, executionOfJob };

  app.get<{ Params: IdParams }>(
    '/executions/:id',
    { schema: { tags: ['Executions'], summary: 'Get an execution with the outcome of each VM', params: idParams, response: errorResponses(404) } },
    async (request) => {
      const view = await executions.get(request.params.id);
      if (!view) throw notFound('execution', request.params.id);
      return view;
    },
  );

  app.post<{ Params: IdParams; Body: { reason?: string | null } }>(
    '/executions/:id/cancel',
    {
      schema: {
        tags: ['Executions'],
        summary: 'Cancel an execution: queued VMs and pending retries are dropped, running jobs finish',
        params: idParams,
        body: cancelBody,
        response: errorResponses(404, 409),
      },
      preValidation: bodyOptional,
    },
    async (request, reply) => {
      const outcome = await cancelExecution(deps.store, request.params.id, request.body.reason, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => executions.get(outcome.id));
    },
  );

  app.get<{ Querystring: JobFilter }>('/jobs', { schema: { tags: ['Jobs'], summary: 'List replication jobs', querystring: jobListQuery } }, async (request) => {
    const { items, ...page } = await jobs.list(request.query);
    return { jobs: items, ...page };
  });

  app.post(
    '/jobs/phantom-scan',
    {
      config: { minRole: 'operator' },
      schema: {
        tags: ['Jobs'],
        summary: 'Check every active job for phantoms now; each phantom is recorded as a failed attempt',
        body: phantomScanBody,
        response: { 200: phantomScanAnswer, ...errorResponses(503) },
      },
      preValidation: bodyOptional,
    },
    async () => {
      if (!deps.phantomScanner) throw new ApiError('Unavailable', 'the phantom scanner is not running in this service');
      const result = await deps.phantomScanner.scan();
      return {
        scanned: result.scanned,
        phantom: result.phantom,
        valid: result.valid,
        errors: result.errors,
        phantom_job_ids: result.phantom_job_ids,
      };
    },
  );

  app.get<{ Params: IdParams }>('/jobs/:id', { schema: { tags: ['Jobs'], summary: 'Get a replication job', params: jobIdParams, response: errorResponses(404) } }, async (request) => {
    const view = await jobs.get(request.params.id);
    if (!view) throw notFound('job', request.params.id);
    return view;
  });

  app.post<{ Params: IdParams; Body: JobStatusReport }>(
    '/jobs/:id/status',
    {
      schema: {
        tags: ['Jobs'],
        summary: "Report a job's status (the OMA's webhook)",
        params: jobIdParams,
        body: jobStatusBody,
        response: errorResponses(404, 409),
      },
    },
    async (request, reply) => {
      const outcome = await recordJobStatus(jobDeps, request.params.id, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => jobs.get(outcome.id));
    },
  );
}
