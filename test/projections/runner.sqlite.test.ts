import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { openReadModelDb } from '../../src/projections/read-model-db.js';
import { describeRunnerScenarios } from './runner-scenarios.js';

describeRunnerScenarios('SQLite', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'projection-runner-'));
  const closers: Array<() => Promise<void>> = [];
  const dispose = async () => {
    for (const close of closers.reverse()) await close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const store = await openSqliteEventStore({ filename: path.join(dataDir, 'events.sqlite'), pollIntervalMs: 20 });
    closers.push(() => store.close());
    const db = await openReadModelDb({ dataDir });
    closers.push(() => db.close());
    return { store, db, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
});
