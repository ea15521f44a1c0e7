/** Routes under /schedules (spec/api.md, Schedules), without trigger and executions. */
import type { FastifyInstance } from 'fastify';
import { createSchedule, deleteSchedule, setScheduleEnabled, updateSchedule, type ScheduleCommandDeps } from '../../commands/schedule-commands.js';
import { describeCron, isValidTimeZone, localWallTime, nextDueInstants, validateCron } from '../../domain/cron.js';
import { streamIds } from '../../domain/events.js';
import type { ScheduleSettings } from '../../domain/schedule-fields.js';
import { ScheduleQueries, upcomingRuns } from '../../queries/schedule-queries.js';
import { iso, isoOrNull, type Row } from '../../queries/row-values.js';
import { ApiError, notFound } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParams, pagingQuery } from '../schemas/common.js';
import { createScheduleBody, enableBody, previewBody, updateScheduleBody } from '../schemas/schedule-schemas.js';
import { answerWrite, commandContext } from '../write-flow.js';

type IdParams = { id: string };

export async function registerScheduleRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const knex = deps.readDb.knex;
  const schedules = new ScheduleQueries(knex);
  const commandDeps: ScheduleCommandDeps = { store: deps.store, referencesTo: (id) => schedules.referencesTo(id) };
  const tags = ['Schedules'];

  const lastExecution = async (scheduleId: string) => {
    const row = (await knex('schedule_executions').where({ schedule_id: scheduleId }).orderBy('scheduled_at', 'desc').first()) as Row | undefined;
    return row ? { id: String(row.id), status: String(row.status), scheduled_at: iso(row.scheduled_at), completed_at: isoOrNull(row.completed_at) } : null;
  };

  const detail = async (id: string) => {
    const now = deps.clock.now();
    const view = await schedules.get(id, now);
    if (!view) return null;
    return { ...view, next_runs: upcomingRuns(view, now, 5), groups: await schedules.groupsOf(id), last_execution: await lastExecution(id) };
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
    async (request) => schedules.list({ enabledOnly: request.query.enabled_only, limit: request.query.limit, page: request.query.page }, deps.clock.now()),
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
