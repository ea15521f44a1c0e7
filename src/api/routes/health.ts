/** /health/live and /health/ready (spec/api.md, operations). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

/** Readiness fails when a projection is this many events behind the log. */
export const PROJECTION_LAG_BOUND_EVENTS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;

async function probe(work: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

export async function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const tags = ['Operations'];
  app.get('/health/live', { schema: { tags, summary: 'The process runs' } }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { schema: { tags, summary: 'Event store, read models and projections are usable' } }, async (_request, reply) => {
    const [eventStore, readModels] = await Promise.all([probe(() => deps.store.ping()), probe(() => deps.readDb.ping())]);
    const projections = await deps.projections.status();
    const lagging = projections.filter((p) => p.state === 'failed' || p.state === 'stopped' || (p.lag_events ?? 0) > PROJECTION_LAG_BOUND_EVENTS);
    const tickerHealth = deps.ticker?.health() ?? null;
    const checks = {
      event_store: eventStore === null ? { status: 'ok', kind: deps.store.kind } : { status: 'failing', kind: deps.store.kind, error: eventStore },
      read_models: readModels === null ? { status: 'ok', kind: deps.readDb.kind } : { status: 'failing', kind: deps.readDb.kind, error: readModels },
      projections: {
        status: lagging.length === 0 ? 'ok' : 'failing',
        lag_bound_events: PROJECTION_LAG_BOUND_EVENTS,
        projections: projections.map((p) => ({ projection: p.projection, state: p.state, lag_events: p.lag_events, last_error: p.last_error })),
      },
      // The old engine stopped silently; a ticker that has not looped within twice its interval fails readiness.
      ticker: tickerHealth === null ? { status: 'ok', running: false } : { status: tickerHealth.healthy ? 'ok' : 'failing', running: true, ...tickerHealth },
    };
    const failing = Object.entries(checks).filter(([, check]) => check.status !== 'ok').map(([name]) => name);
    return reply.code(failing.length === 0 ? 200 : 503).send({ status: failing.length === 0 ? 'ready' : 'not_ready', failing, checks });
  });
}
