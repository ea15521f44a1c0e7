/** An event store and a read-model database on throwaway stores, for the runner and blue/green scenarios. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { openReadModelDb } from '../../src/projections/read-model-db.js';
import { createTestDatabase } from '../support/mariadb.js';
import type { RunnerEnvironment } from './runner-scenarios.js';

export async function openSqliteRunnerEnvironment(): Promise<RunnerEnvironment> {
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
}

/** MariaDB is part of the product: scenarios using this fail (never skip) when it cannot be reached. */
export async function openMariaDbRunnerEnvironment(prefix: string): Promise<RunnerEnvironment> {
  const database = await createTestDatabase(prefix);
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
}
