/** Routes under /schedules (spec/api.md, Schedules). */
import type { FastifyInstance } from 'fastify';
import { triggerExecution } from '../../commands/execution-commands.js';
import { createSchedule, deleteSchedule, setScheduleEnabled, updateSchedule, type ScheduleCommandDeps } from '../../commands/schedule-commands.js';
import { describeCron, isValidTimeZone, localWallTime, nextDueInstants, validateCron } from '../../domain/cron.js';
import { streamIds } from '../../domain/events.js';
import type { ScheduleSettings } from '../../domain/schedule-fields.js';
import { ExecutionQueries, type LastExecution } from '../../queries/execution-queries.js';
import { ScheduleQueries, upcomingRuns, type ScheduleView } from '../../queries/schedule-queries.js';
import { ApiError, notFound } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParams, pagingQuery } from '../schemas/common.js';
import { executionListQuery, triggerBody } from '../schemas/execution-schemas.js';
import { createScheduleBody, enableBody, previewBody, updateScheduleBody } from '../schemas/schedule-schemas.js';
import { answerWrite, commandContext } from '../write-flow.js';
import { bodyOptional } from './executions.js';

type IdParams = { id: string };

export async function registerScheduleRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const knex = deps.readDb.knex;
  const schedules = new ScheduleQueries(knex);
  const commandDeps: ScheduleCommandDeps = { store: deps.store, referencesTo: (id) => schedules.referencesTo(id) };
  const tags = ['Schedules'];

  const executions = new ExecutionQueries(knex);

  /** last_run_at is the due instant of the schedule's latest execution (from schedule_executions, not the schedule's row). */
  const withLastRun = (view: ScheduleView, last: LastExecution | undefined): ScheduleView => ({ ...view, last_run_at: last?.scheduled_at ?? null });

  const detail = async (id: string) => {
    const now = deps.clock.now();
    // Three reads at once: the answer waits for one round trip, not three.
    const [view, lastById, groups] = await Promise.all([schedules.get(id, now), executions.lastOf([id]), schedules.groupsOf(id)]);
    if (!view) return null;
    const last = lastById.get(id);
    return { ...withLastRun(view, last), next_runs: upcomingRuns(view, now, 5), groups, last_execution: last ?? null };
  };

  app.post<{ Body: Partial<ScheduleSettings> & { name: string } }>(
    '/schedules',
    { schema: { tags, summary: 'Create a schedule', body: createScheduleBody, response: errorResponses(409) } },
    async (request, reply) => {
      const outcome = await createSchedule(commandDeps, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 201, () => detail(outcome.id));
    },
  );

  app.get<{ Querystring: { enabled_only: boolean; limit: number; page: number } }>(
    '/schedules',
    { schema: { tags, summary: 'List schedules', querystring: { type: 'object', additionalProperties: false, properties: { enabled_only: { type: 'boolean', default: false }, ...pagingQuery } } } },
    async (request) => {
      const list = await schedules.list({ enabledOnly: request.query.enabled_only, limit: request.query.limit, page: request.query.page }, deps.clock.now());
      const last = await executions.lastOf(list.schedules.map((view) => view.id));
      return { ...list, schedules: list.schedules.map((view) => withLastRun(view, last.get(view.id))) };
    },
  );

  app.get<{ Params: IdParams }>('/schedules/:id', { schema: { tags, summary: 'Get a schedule', params: idParams, response: errorResponses(404) } }, async (request) => {
    const view = await detail(request.params.id);
    if (!view) throw notFound('schedule', request.params.id);
    return view;
  });

  app.route<{ Params: IdParams; Body: Partial<ScheduleSettings> }>({
    method: ['PUT', 'PATCH'],
    url: '/schedules/:id',
    schema: { tags, summary: 'Change some fields of a schedule', params: idParams, body: updateScheduleBody, response: errorResponses(404, 409) },
    handler: async (request, reply) => {
      const outcome = await updateSchedule(commandDeps, request.params.id, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => detail(outcome.id));
    },
  });

  app.delete<{ Params: IdParams }>(
    '/schedules/:id',
    { schema: { tags, summary: 'Delete a schedule no group or chain still references', params: idParams, response: errorResponses(404, 409) } },
    async (request, reply) => {
      const outcome = await deleteSchedule(commandDeps, request.params.id, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, async () => ({ id: outcome.id, deleted: true }));
    },
  );

  app.post<{ Params: IdParams; Body: { enabled: boolean } }>(
    '/schedules/:id/enable',
    { schema: { tags, summary: 'Enable or disable a schedule', params: idParams, body: enableBody, response: errorResponses(404) } },
    async (request, reply) => {
      const outcome = await setScheduleEnabled(commandDeps, request.params.id, request.body.enabled, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => detail(outcome.id));
    },
  );

  app.post<{ Params: IdParams; Body: { reason?: string | null; group_id?: string | null; force?: boolean } }>(
    '/schedules/:id/trigger',
    {
      schema: {
        tags,
        summary: 'Run a schedule now (a disabled one only with force)',
        params: idParams,
        body: triggerBody,
        response: errorResponses(404, 409),
      },
      preValidation: bodyOptional,
    },
    async (request, reply) => {
      const { reason, group_id: groupId, force } = request.body;
      const outcome = await triggerExecution(deps.store, { scheduleId: request.params.id, reason, groupId, force }, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 202, async () => {
        const execution = await executions.get(outcome.id);
        if (!execution) return null;
        return { execution_id: execution.id, schedule_id: execution.schedule_id, status: execution.status, triggered_by: execution.triggered_by, triggered_at: execution.scheduled_at };
      });
    },
  );

  app.get<{ Params: IdParams; Querystring: { status?: string; limit: number; page: number } }>(
    '/schedules/:id/executions',
    { schema: { tags, summary: "A schedule's executions, newest first", params: idParams, querystring: executionListQuery, response: errorResponses(404) } },
    async (request) => {
      const { id } = request.params;
      const { items, ...page } = await executions.listForSchedule(id, request.query);
      // A deleted schedule's executions stay readable; a schedule never seen is a 404.
      if (page.total_count === 0 && !(await schedules.get(id, deps.clock.now())) && !(await executions.anyOf(id))) throw notFound('schedule', id);
      return { executions: items, ...page };
    },
  );

  app.get<{ Params: IdParams; Querystring: { count: number } }>(
    '/schedules/:id/next-runs',
    {
      schema: {
        tags,
        summary: 'The next due instants of a schedule',
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { count: { type: 'integer', minimum: 1, maximum: 100, default: 5 } } },
        response: errorResponses(404),
      },
    },
    async (request) => {
      const view = await schedules.get(request.params.id, deps.clock.now());
      if (!view) throw notFound('schedule', request.params.id);
      return { schedule_id: view.id, timezone: view.timezone, runs: upcomingRuns(view, deps.clock.now(), request.query.count) };
    },
  );

  app.post<{ Body: { cron_expression: string; timezone?: string; count?: number } }>(
    '/schedules/preview',
    { config: { minRole: 'viewer' }, schema: { tags, summary: 'Preview the due instants of a cron expression and zone before saving', body: previewBody } },
    async (request) => {
      const { cron_expression: expression, timezone = 'UTC', count = 5 } = request.body;
      const problems = [];
      const cronProblem = validateCron(expression);
      if (cronProblem) problems.push({ path: '/cron_expression', message: cronProblem });
      if (!isValidTimeZone(timezone)) problems.push({ path: '/timezone', message: `unknown IANA time zone "${timezone}"` });
      if (problems.length > 0) throw new ApiError('ValidationError', problems.map((p) => p.message).join('; '), problems);
      const runs = nextDueInstants(expression, timezone, deps.clock.now(), count).map((at) => ({ at: at.toISOString(), local_time: localWallTime(at, timezone) }));
      return { runs, description: describeCron(expression) };
    },
  );

  app.get<{ Params: IdParams; Querystring: { limit: number; after_position?: string } }>(
    '/schedules/:id/history',
    {
      schema: {
        tags,
        summary: "The schedule's events, oldest first, with their metadata",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, after_position: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9/]+$' } },
        },
        response: errorResponses(404),
      },
    },
    async (request) => {
      const { store } = deps;
      const { limit, after_position: after } = request.query;
      const events = await store.readStream(streamIds.schedule(request.params.id));
      if (events.length === 0) throw notFound('schedule', request.params.id);
      const isLater = (position: string) => {
        try {
          return store.comparePositions(position, after ?? '') > 0;
        } catch {
          throw new ApiError('ValidationError', `after_position "${after}" is not a position of this event store`, [{ path: 'querystring:/after_position', message: 'not a position' }]);
        }
      };
      const later = after === undefined ? events : events.filter((event) => isLater(event.position));
      return {
        schedule_id: request.params.id,
        events: later.slice(0, limit).map((event) => ({ position: event.position, revision: event.revision, type: event.type, data: event.data, metadata: event.metadata, recorded_at: event.recordedAt })),
        has_more: later.length > limit,
      };
    },
  );
}
