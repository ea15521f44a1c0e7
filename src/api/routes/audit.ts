/** Routes under /audit (spec/api.md, Audit): the event log and aggregates as of an instant. src/audit does the reading. */
import type { FastifyInstance } from 'fastify';
import { auditEventView, type AuditEventView } from '../../audit/audit-event-view.js';
import { eventTypesOf, isPositionOf, timeRangeProblem } from '../../audit/event-filter.js';
import { readAuditPage } from '../../audit/event-log-scan.js';
import { replayStream, unknownStreamMessage } from '../../audit/stream-replay.js';
import { parseInstant } from '../../reports/report-range.js';
import { ApiError } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { auditEventsAnswer, auditEventsQuery, auditStreamAnswer, auditStreamParams, auditStreamQuery } from '../schemas/audit-schemas.js';
import { errorResponses } from '../schemas/common.js';

interface AuditEventsQuery {
  stream?: string;
  type?: string | string[];
  actor?: string;
  from?: string;
  to?: string;
  after_position?: string;
  limit: number;
}

/** A query instant (already a date-time by the schema) that names a real instant; 400 otherwise. */
function instantParameter(name: string, text: string | undefined): Date | null {
  if (text === undefined) return null;
  const instant = parseInstant(text);
  if (instant === null) throw new ApiError('ValidationError', `${name} is not an instant: ${text}`, [{ path: `querystring:/${name}`, message: 'not an ISO-8601 instant with a zone' }]);
  return instant;
}

export async function registerAuditRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const tags = ['Audit'];
  const { store } = deps;

  app.get<{ Querystring: AuditEventsQuery }>(
    '/audit/events',
    {
      schema: {
        tags,
        summary: 'The event log, oldest first, filtered; paged by position (next_after_position)',
        description:
          'A page holds at most `limit` events. A rare filter over a long log may answer fewer (even none) with has_more: ' +
          'each request reads a bounded part of the log; go on from next_after_position. There is no total_count: counting ' +
          'would read the whole log.',
        querystring: auditEventsQuery,
        response: { 200: auditEventsAnswer, ...errorResponses() },
      },
    },
    async (request) => {
      const query = request.query;
      const from = instantParameter('from', query.from);
      const to = instantParameter('to', query.to);
      const rangeProblem = timeRangeProblem(from, to);
      if (rangeProblem) throw new ApiError('ValidationError', rangeProblem, [{ path: 'querystring:/from', message: rangeProblem }]);
      const after = query.after_position ?? null;
      if (after !== null && !isPositionOf(store, after)) {
        throw new ApiError('ValidationError', `after_position "${after}" is not a position of this event store`, [{ path: 'querystring:/after_position', message: 'not a position' }]);
      }
      const types = query.type === undefined ? [] : eventTypesOf(typeof query.type === 'string' ? [query.type] : query.type);
      const page = await readAuditPage(store, { stream: query.stream ?? null, types, actor: query.actor ?? null, from, to, after }, query.limit);
      return { events: page.events.map(auditEventView), page_size: query.limit, has_more: page.hasMore, next_after_position: page.nextAfter };
    },
  );

  app.get<{ Params: { stream: string }; Querystring: { as_of?: string; limit: number } }>(
    '/audit/streams/:stream',
    {
      schema: {
        tags,
        summary: "An aggregate's state folded from its stream up to an instant, with the events that made it",
        description:
          'Folds the events decided at or before as_of (metadata.timestamp), stopping at the first one decided later. ' +
          '`events` holds the newest `limit` of the `event_count` events folded; the rest are at /audit/events?stream=.',
        params: auditStreamParams,
        querystring: auditStreamQuery,
        response: { 200: auditStreamAnswer, ...errorResponses(404) },
      },
    },
    async (request) => {
      const { stream } = request.params;
      const { as_of: asOfText, limit } = request.query;
      const asOf = instantParameter('as_of', asOfText) ?? deps.clock.now();
      const newest: AuditEventView[] = [];
      const replay = await replayStream(store, stream, asOf, {
        onEvent: (event) => {
          newest.push(auditEventView(event));
          // Trimmed now and then, not per event: a long stream keeps at most 2 x limit.
          if (newest.length >= 2 * limit) newest.splice(0, newest.length - limit);
        },
      });
      if (replay === null) throw new ApiError('NotFound', unknownStreamMessage(stream));
      return { ...replay, events: newest.slice(-limit) };
    },
  );
}
