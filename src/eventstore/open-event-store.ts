import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openEventStoreDb } from './esdb-event-store.js';
import type { EventStore } from './event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from './sql-event-store.js';

/**
 * Picks the event store from configuration, in this order:
 * an esdb:// (or esdb+discover://) EVENTSTORE_URL -> EventStoreDB;
 * else a mysql:// DATABASE_URL -> the SQL store on MariaDB;
 * else the embedded default: SQLite at `${dataDir}/events.sqlite`.
 */
export async function openEventStore(config: {
  eventstoreUrl?: string | null;
  databaseUrl?: string | null;
  dataDir: string;
}): Promise<EventStore> {
  const eventstoreUrl = config.eventstoreUrl?.trim();
  if (eventstoreUrl) {
    if (!/^esdb(\+discover)?:\/\//.test(eventstoreUrl)) {
      throw new Error('EVENTSTORE_URL must be an esdb:// or esdb+discover:// connection string');
    }
    return openEventStoreDb({ connectionString: eventstoreUrl });
  }
  const databaseUrl = config.databaseUrl?.trim();
  if (databaseUrl && /^(mysql|mariadb):\/\//.test(databaseUrl)) {
    return openMariaDbEventStore({ url: databaseUrl });
  }
  await mkdir(config.dataDir, { recursive: true });
  return openSqliteEventStore({ filename: join(config.dataDir, 'events.sqlite') });
}
