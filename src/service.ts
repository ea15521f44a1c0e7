/**
 * Wires the service from its configuration: event store, read models,
 * projections and the HTTP API. main.ts runs it; tests start it in-process.
 */
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { buildApp } from './api/app.js';
import { openEventStore } from './eventstore/open-event-store.js';
import type { EventStore } from './eventstore/event-store.js';
import { UpcastingEventStore } from './eventstore/upcasting-event-store.js';
import { upcastEventData } from './domain/event-upcasters.js';
import { createLogger, type Logger } from './logger.js';
import { allProjections } from './projections/all-projections.js';
import type { RowProjection } from './projections/projection.js';
import { ProjectionRunner } from './projections/projection-runner.js';
import { openReadModelDb, type ReadModelDb } from './projections/read-model-db.js';
import { Ticker } from './processes/ticker.js';
import type { TimerPort } from './processes/ticker-timers.js';
import { PhantomScanner } from './processes/phantom-scanner.js';
import { ExecutionManager } from './processes/execution-manager.js';
import { ExecutionPlanner } from './processes/execution-planner.js';
import { reconciliationPolicy } from './processes/dispatch-reconciliation.js';
import { ProcessCheckpoints } from './processes/process-checkpoints.js';
import { loadIntegrationConfig, type IntegrationConfig } from './integrations/integration-config.js';
import { openReplicationGateway, type ReplicationGateway } from './integrations/open-replication-gateway.js';

export interface Service {
  app: FastifyInstance;
  store: EventStore;
  readDb: ReadModelDb;
  projections: ProjectionRunner;
  /** Records due instants of cron schedules; null when started without it. */
  ticker: Ticker | null;
  /** Drives executions (checks, dispatch, job polling, retries, chains); null when started without it. */
  processManager: ExecutionManager | null;
  /** Looks for phantom jobs every PHANTOM_SCAN_INTERVAL_SECONDS; runs with the process manager. */
  phantomScanner: PhantomScanner | null;
  /** The VMA/OMA clients, or the built-in simulator. */
  gateway: ReplicationGateway;
  logger: Logger;
  /** Stops accepting requests, then stops projections and closes the stores. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Timers matching `clock` (a manual clock in tests brings its own). */
  timers?: TimerPort;
  logger?: Logger;
  /** Run the ticker (default true); API tests turn it off so no due instant lands in their log. */
  ticker?: boolean;
  /** Run the execution process manager (default true); API tests turn it off. */
  processManager?: boolean;
  /** The appliances' configuration; default: loadIntegrationConfig(process.env). */
  integrationConfig?: IntegrationConfig;
  /** The read-model projections (default allProjections); tests change a version to see the start-up rebuild. */
  projections?: readonly RowProjection[];
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  // A bad value stops start-up (ConfigError) before anything is opened.
  const integration = options.integrationConfig ?? loadIntegrationConfig(process.env);
  // Every reader sees events in the current shape of their data, whatever version they were stored in.
  const store = new UpcastingEventStore(await openEventStore({ eventstoreUrl: config.eventstoreUrl, databaseUrl: config.databaseUrl, dataDir: config.dataDir }), upcastEventData);
  let readDb: ReadModelDb | undefined;
  let projections: ProjectionRunner | undefined;
  let ticker: Ticker | null = null;
  let processManager: ExecutionManager | null = null;
  let phantomScanner: PhantomScanner | null = null;
  try {
    readDb = await openReadModelDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    // A projection whose version changed since its tables were built is rebuilt blue/green.
    projections = new ProjectionRunner(store, readDb, options.projections ?? allProjections, { logger, rebuildOutdated: true });
    await projections.start();
    const planner = new ExecutionPlanner(readDb.knex);
    const gateway = openReplicationGateway(integration, { clock, inventory: () => planner.inventory() });
    if (options.processManager !== false) {
      if (gateway.mode === 'simulator') logger.warn(`\n${gateway.banner}`);
      const runner = projections;
      processManager = new ExecutionManager(
        {
          store,
          clock,
          logger: logger.child({ component: 'execution-manager' }),
          gateway,
          planner,
          checkpoints: new ProcessCheckpoints(readDb.knex),
          waitForReadModels: (position, timeoutMs) => runner.waitForPosition(position, timeoutMs),
          ...(options.timers && { timers: options.timers }),
        },
        { jobPollIntervalSeconds: integration.jobPollIntervalSeconds, reconciliation: reconciliationPolicy(integration) },
      );
      await processManager.start();
      phantomScanner = new PhantomScanner(
        { store, readDb, gateway, clock, logger: logger.child({ component: 'phantom-scanner' }), ...(options.timers && { timers: options.timers }) },
        { intervalSeconds: integration.phantomScanIntervalSeconds, thresholds: integration.phantom },
      );
      await phantomScanner.start();
    }
    if (options.ticker !== false) {
      ticker = new Ticker({ store, clock, logger: logger.child({ component: 'ticker' }), ...(options.timers && { timers: options.timers }) });
      await ticker.start();
    }
    const app = await buildApp({ config, logger, store, readDb, projections, ticker, clock, discovery: gateway.discovery, ...(phantomScanner && { phantomScanner }) });
    const opened = { readDb, projections, ticker, processManager, phantomScanner };
    return {
      app,
      store,
      readDb,
      projections,
      ticker,
      processManager,
      phantomScanner,
      gateway,
      logger,
      async stop() {
        await app.close();
        await opened.phantomScanner?.stop();
        await opened.processManager?.stop();
        await opened.ticker?.stop();
        await opened.projections.stop();
        await opened.readDb.close();
        await store.close();
      },
    };
  } catch (error) {
    await phantomScanner?.stop().catch(() => undefined);
    await processManager?.stop().catch(() => undefined);
    await ticker?.stop().catch(() => undefined);
    await projections?.stop().catch(() => undefined);
    await readDb?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
