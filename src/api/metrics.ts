/**
 * Prometheus metrics of the service (GET /metrics). Event-driven ones (ticker lag,
 * missed runs, HTTP latency) are observed as they happen; counts of executions,
 * jobs and in-flight jobs are read from the read models at scrape time, so every
 * instance answers the same totals.
 */
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import { ACTIVE_JOB_STATUSES } from '../domain/job-statuses.js';
import type { TickerHealth, TickerMetric } from '../processes/ticker.js';
import type { ProjectionRunner } from '../projections/projection-runner.js';

export interface MetricsSources {
  knex: Knex;
  projections: Pick<ProjectionRunner, 'status'>;
  ticker: { health(): TickerHealth; metrics?: Observable<TickerMetric> } | null;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly subscription: Subscription | null;

  constructor(sources: MetricsSources) {
    const { registry } = this;
    collectDefaultMetrics({ register: registry, prefix: 'scheduler_process_' });
    this.httpDuration = new Histogram({
      name: 'scheduler_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const dueLag = new Histogram({
      name: 'scheduler_due_to_record_lag_seconds',
      help: 'Time between a due instant (with jitter) and its ExecutionDue record',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    });
    const missedRuns = new Counter({
      name: 'scheduler_missed_runs_total',
      help: 'Due instants dropped or skipped by catch-up, by schedule and reason',
      labelNames: ['schedule_id', 'reason'],
      registers: [registry],
    });
    this.subscription =
      sources.ticker?.metrics?.subscribe((metric) => {
        if (metric.type === 'due_recorded') dueLag.observe(metric.lag_ms / 1000);
        else missedRuns.inc({ schedule_id: metric.schedule_id, reason: metric.reason }, metric.count);
      }) ?? null;

    const { knex } = sources;
    new Gauge({
      name: 'scheduler_executions',
      help: 'Executions by status (read model)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = (await knex('schedule_executions').select('status').count({ count: '*' }).groupBy('status')) as Array<{ status: string; count: number | string }>;
        for (const row of rows) this.set({ status: row.status }, Number(row.count));
      },
    });
    new Gauge({
      name: 'scheduler_jobs',
      help: 'Replication jobs by status (read model)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = (await knex('replication_jobs').select('status').count({ count: '*' }).groupBy('status')) as Array<{ status: string; count: number | string }>;
        for (const row of rows) this.set({ status: row.status }, Number(row.count));
      },
    });
    new Gauge({
      name: 'scheduler_inflight_jobs',
      help: 'Jobs in an active status, by machine group of their VM',
      labelNames: ['group_id'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = (await knex('replication_jobs as j')
          .join('vm_group_memberships as m', 'm.vm_context_id', 'j.vm_context_id')
          .select('m.group_id')
          .count({ count: '*' })
          .whereIn('j.status', [...ACTIVE_JOB_STATUSES])
          .groupBy('m.group_id')) as Array<{ group_id: string; count: number | string }>;
        for (const row of rows) this.set({ group_id: row.group_id }, Number(row.count));
      },
    });
    new Gauge({
      name: 'scheduler_projection_lag_events',
      help: 'Events in the log not yet applied, by projection',
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const status of await sources.projections.status()) {
          if (status.lag_events !== null) this.set({ projection: status.projection }, status.lag_events);
        }
      },
    });
    new Gauge({
      name: 'scheduler_ticker_last_loop_timestamp_seconds',
      help: 'When the ticker last completed a loop (0: no ticker or never)',
      registers: [registry],
      collect() {
        const last = sources.ticker?.health().last_loop_at;
        this.set(last ? Date.parse(last) / 1000 : 0);
      },
    });
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  close(): void {
    this.subscription?.unsubscribe();
  }
}
