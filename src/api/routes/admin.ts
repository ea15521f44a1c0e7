/**
 * Routes under /admin (spec/api.md, admin), admin role only: the projections'
 * state, and a blue/green rebuild of the read models while the service answers.
 */
import type { FastifyInstance } from 'fastify';
import type { Position } from '../../eventstore/event-store.js';
import type { ProjectionStatus, RebuildReport } from '../../projections/projection-runner.js';
import { ApiError } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, isoInstant, nullable } from '../schemas/common.js';

const rebuildSchema = {
  type: 'object',
  required: ['rebuild_id', 'mode', 'projections', 'status', 'started_at', 'finished_at', 'events_done', 'events_total', 'events_per_second', 'eta_seconds', 'error'],
  properties: {
    rebuild_id: { type: 'string' },
    mode: { type: 'string', enum: ['in_place', 'blue_green'] },
    projections: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['running', 'done', 'failed'] },
    started_at: isoInstant,
    finished_at: nullable(isoInstant),
    events_done: { type: 'integer' },
    events_total: nullable({ type: 'integer' }),
    events_per_second: { type: 'number' },
    eta_seconds: nullable({ type: 'number' }),
    error: nullable({ type: 'string' }),
  },
} as const;

const projectionsAnswer = {
  type: 'object',
  required: ['projections', 'rebuild'],
  properties: {
    projections: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'version', 'position', 'events_applied', 'lag_events', 'lag_seconds', 'state', 'last_error', 'rebuilding'],
        properties: {
          name: { type: 'string' },
          version: { type: 'integer' },
          position: nullable({ type: 'string' }),
          events_applied: { type: 'integer' },
          lag_events: nullable({ type: 'integer' }),
          lag_seconds: nullable({ type: 'number' }),
          state: { type: 'string' },
          last_error: nullable({ type: 'string' }),
          rebuilding: { type: 'boolean', description: 'a rebuild of this projection is running (see rebuild)' },
        },
      },
    },
    rebuild: { ...nullable(rebuildSchema), description: 'the rebuild running now, or the last one since the service started' },
  },
} as const;

const rebuildBody = {
  type: 'object',
  additionalProperties: false,
  properties: { projection: { type: 'string', minLength: 1, maxLength: 100, description: 'rebuild only this projection; default all' } },
} as const;

const rebuildAccepted = {
  type: 'object',
  required: ['rebuild_id', 'projections', 'mode'],
  properties: { rebuild_id: { type: 'string' }, projections: { type: 'array', items: { type: 'string' } }, mode: { type: 'string' } },
} as const;

function rebuildView(report: RebuildReport) {
  const { id, ...rest } = report;
  return { rebuild_id: id, ...rest };
}

export async function registerAdminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const tags = ['Admin'];
  const { projections: runner, store } = deps;
  const names = async () => (await runner.status()).map((status) => status.projection);

  /** How long the oldest event a projection has not applied has waited (0 when none waits). */
  const lagSeconds = async (status: ProjectionStatus): Promise<number | null> => {
    if (status.lag_events === 0) return 0;
    try {
      const [next] = await store.readAll({ after: status.position as Position | null, maxCount: 1 });
      if (next === undefined) return 0;
      return Math.max(0, (deps.clock.now().getTime() - new Date(next.recordedAt).getTime()) / 1000);
    } catch {
      return null;
    }
  };

  app.get(
    '/admin/projections',
    {
      config: { minRole: 'admin' },
      schema: { tags, summary: 'Each projection: version, checkpoint, lag, state; and the running (or last) rebuild', response: { 200: projectionsAnswer, ...errorResponses() } },
    },
    async () => {
      const statuses = await runner.status();
      const report = runner.rebuildReport;
      const rebuilding = new Set(report?.status === 'running' ? report.projections : []);
      return {
        projections: await Promise.all(
          statuses.map(async (status) => ({
            name: status.projection,
            version: status.version,
            position: status.position,
            events_applied: status.events_applied,
            lag_events: status.lag_events,
            lag_seconds: await lagSeconds(status),
            state: status.state,
            last_error: status.last_error,
            rebuilding: rebuilding.has(status.projection),
          })),
        ),
        rebuild: report === null ? null : rebuildView(report),
      };
    },
  );

  app.post<{ Body: { projection?: string } }>(
    '/admin/projections/rebuild',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Rebuild the read models blue/green: new tables beside the live ones, swapped in when complete',
        description: 'Queries keep answering from the live tables meanwhile. Follow the progress at GET /admin/projections.',
        body: rebuildBody,
        response: { 202: rebuildAccepted, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const projection = request.body?.projection;
      const known = await names();
      if (projection !== undefined && !known.includes(projection)) {
        throw new ApiError('ValidationError', `unknown projection ${projection}; the projections are ${known.join(', ')}`, [
          { path: 'body:/projection', message: `one of ${known.join(', ')}` },
        ]);
      }
      const running = runner.rebuildReport;
      if (runner.isRebuilding && running !== null) {
        throw new ApiError('Conflict', `rebuild ${running.id} of ${running.projections.join(', ')} is running; follow it at GET /api/v1/admin/projections`);
      }
      if (!runner.isWriter) {
        throw new ApiError('Conflict', 'this instance does not write the read models (another holds the projection lease): ask that instance');
      }
      const rebuild = runner.rebuildBlueGreen(projection === undefined ? {} : { projections: [projection] });
      // The runner logs a failure and shows it at GET /admin/projections.
      rebuild.catch(() => undefined);
      const report = runner.rebuildReport;
      if (report === null) throw new Error('the rebuild did not start');
      return reply.code(202).send({ rebuild_id: report.id, projections: report.projections, mode: report.mode });
    },
  );
}
