import path from 'node:path';
import { tmpdir } from 'node:os';
import { openMariaDbEventStore } from '../../src/eventstore/sql-event-store.js';
import { openReadModelDb } from '../../src/projections/read-model-db.js';
import { createTestDatabase } from '../support/mariadb.js';
import { describeRunnerScenarios } from './runner-scenarios.js';

// MariaDB is part of the product: these fail (never skip) when it cannot be reached.
describeRunnerScenarios('MariaDB', async () => {
  const database = await createTestDatabase('t_projections');
  const closers: Array<() => Promise<void>> = [];
  const dispose = async () => {
    for (const close of closers.reverse()) await close();
    await database.drop();
  };
  try {
    const store = await openMariaDbEventStore({ url: database.url, pollIntervalMs: 20 });
    closers.push(() => store.close());
    // The data directory is only used for SQLite; it is never created here.
    const db = await openReadModelDb({ databaseUrl: database.url, dataDir: path.join(tmpdir(), 'unused-read-model-dir') });
    closers.push(() => db.close());
    return { store, db, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
});
