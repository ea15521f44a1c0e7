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
import { createLogger, type Logger } from './logger.js';
import { allProjections } from './projections/all-projections.js';
import { ProjectionRunner } from './projections/projection-runner.js';
import { openReadModelDb, type ReadModelDb } from './projections/read-model-db.js';

export interface Service {
  app: FastifyInstance;
  store: EventStore;
  readDb: ReadModelDb;
  projections: ProjectionRunner;
  logger: Logger;
  /** Stops accepting requests, then stops projections and closes the stores. */
  stop(): Promise<void>;
}

export async function startService(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openEventStore({ eventstoreUrl: config.eventstoreUrl, databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let readDb: ReadModelDb | undefined;
  let projections: ProjectionRunner | undefined;
  try {
    readDb = await openReadModelDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    projections = new ProjectionRunner(store, readDb, allProjections, { logger });
    await projections.start();
    const app = await buildApp({ config, logger, store, readDb, projections, clock });
    const opened = { readDb, projections };
    return {
      app,
      store,
      readDb,
      projections,
      logger,
      async stop() {
        await app.close();
        await opened.projections.stop();
        await opened.readDb.close();
        await store.close();
      },
    };
  } catch (error) {
    await projections?.stop().catch(() => undefined);
    await readDb?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
