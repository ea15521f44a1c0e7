/** Reports under /reports: recovery point per VM and job success rates (the queries of src/reports, shared with the CLI). */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_REPORT_DAYS, rangeOf } from '../../reports/report-range.js';
import { RpoReport, type RpoFilter } from '../../reports/rpo-report.js';
import { SUCCESS_RATE_KEYS, SuccessRatesReport, type SuccessRateKey } from '../../reports/success-rates-report.js';
import { ApiError } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParam, isoInstant, pagingQuery } from '../schemas/common.js';

const rpoQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    over_minutes: { type: 'integer', minimum: 0, maximum: 100_000_000, description: 'only VMs whose last success is more than this many minutes ago (never replicated ones always are)' },
    group_id: idParam,
    ...pagingQuery,
  },
} as const;

const successRatesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    group_by: { type: 'string', enum: [...SUCCESS_RATE_KEYS], default: 'schedule' },
    from: { ...isoInstant, description: `jobs finished at or after this instant; default: ${DEFAULT_REPORT_DAYS} days before \`to\`` },
    to: { ...isoInstant, description: 'jobs finished before this instant (exclusive); default: now' },
    ...pagingQuery,
  },
} as const;

export async function registerReportRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const rpo = new RpoReport(deps.readDb.knex, deps.readDb.kind);
  const successRates = new SuccessRatesReport(deps.readDb.knex, deps.readDb.kind);
  const tags = ['Reports'];

  app.get<{ Querystring: RpoFilter }>(
    '/reports/rpo',
    {
      schema: {
        tags,
        summary: 'Time since each VM last replicated successfully, worst first (never replicated first)',
        querystring: rpoQuery,
        response: errorResponses(),
      },
    },
    async (request) => {
      const now = deps.clock.now();
      const { items, ...page } = await rpo.page(request.query, now);
      return { as_of: now.toISOString(), vms: items, ...page };
    },
  );

  app.get<{ Querystring: { group_by: SuccessRateKey; from?: string; to?: string; limit: number; page: number } }>(
    '/reports/success-rates',
    {
      schema: {
        tags,
        summary: 'Jobs finished in [from, to) per schedule, group or VM: total, completed, failed, success_fraction (0..1), lowest first',
        querystring: successRatesQuery,
        response: errorResponses(),
      },
    },
    async (request) => {
      const { group_by: groupBy, from, to, limit, page } = request.query;
      const range = rangeOf({ from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) }, deps.clock.now());
      if (range.from.getTime() >= range.to.getTime()) {
        throw new ApiError('ValidationError', 'from must be before to', [{ path: from === undefined ? 'querystring:/to' : 'querystring:/from', message: `must be before to (${range.to.toISOString()})` }]);
      }
      const { items, totals, ...paging } = await successRates.page(groupBy, range, limit, page);
      return { group_by: groupBy, from: range.from.toISOString(), to: range.to.toISOString(), totals, rates: items, ...paging };
    },
  );
}
