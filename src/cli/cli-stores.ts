/**
 * Opens the stores the CLI reads, from the same environment as the service
 * (EVENTSTORE_URL, DATABASE_URL, DATA_DIR), so `npm run cli` looks at what
 * `npm start` writes.
 */
import { loadConfig, type Config } from '../config.js';
import type { EventStore } from '../eventstore/event-store.js';
import { openEventStore } from '../eventstore/open-event-store.js';
import { UpcastingEventStore } from '../eventstore/upcasting-event-store.js';
import { upcastEventData } from '../domain/event-upcasters.js';
import { openReadModelDb, type ReadModelDb } from '../projections/read-model-db.js';

export interface CliStores {
  config: Config;
  store: EventStore;
  readDb: ReadModelDb;
  close(): Promise<void>;
}

export async function openCliStores(env: NodeJS.ProcessEnv): Promise<CliStores> {
  const config = loadConfig(env);
  const store = new UpcastingEventStore(await openEventStore({ eventstoreUrl: config.eventstoreUrl, databaseUrl: config.databaseUrl, dataDir: config.dataDir }), upcastEventData);
  let readDb: ReadModelDb;
  try {
    readDb = await openReadModelDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    config,
    store,
    readDb,
    async close() {
      await readDb.close();
      await store.close();
    },
  };
}
