/** Every row of every read-model table, for comparing a live build with a replay. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventStore, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { allProjections } from '../../src/projections/all-projections.js';
import { applyBatch } from '../../src/projections/apply-batch.js';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { decodeRow, type Row } from '../../src/projections/row-codec.js';

/** Read-model tables and the column they are ordered by. */
const TABLES: ReadonlyArray<[table: string, orderBy: string]> = [
  ['replication_schedules', 'id'],
  ['vm_machine_groups', 'id'],
  ['vm_group_memberships', 'vm_context_id'],
  ['vm_replication_contexts', 'context_id'],
  ['schedule_executions', 'id'],
  ['replication_jobs', 'id'],
];

export type Snapshot = Record<string, Row[]>;

export async function snapshotReadModels(db: ReadModelDb): Promise<Snapshot> {
  const snapshot: Snapshot = {};
  for (const [table, orderBy] of TABLES) {
    const rows: Array<Record<string, unknown>> = await db.knex(table).select('*').orderBy(orderBy);
    snapshot[table] = rows.map(decodeRow);
  }
  // updated_at is the one wall-clock time of the read models: left out on purpose.
  const checkpoints: Array<Record<string, unknown>> = await db
    .knex('projection_checkpoints')
    .select('projection', 'position', 'events_applied')
    .orderBy('projection');
  snapshot.projection_checkpoints = checkpoints.map(decodeRow);
  return snapshot;
}

export async function readWholeLog(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: Position | null = null;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1000 });
    const last = page[page.length - 1];
    if (last === undefined) return events;
    events.push(...page);
    after = last.position;
  }
}

/**
 * The read models built in one batch, in a fresh embedded SQLite database, from the
 * log up to `upTo` (inclusive; default all): the reference a runner must agree with.
 */
export async function referenceSnapshot(store: EventStore, upTo?: Position): Promise<Snapshot> {
  const events = (await readWholeLog(store)).filter(
    (event) => upTo === undefined || store.comparePositions(event.position, upTo) <= 0,
  );
  const dataDir = await mkdtemp(path.join(tmpdir(), 'readmodels-reference-'));
  const db = await openReadModelDb({ dataDir });
  try {
    await applyBatch(db, allProjections, new Map(), events, (a, b) => store.comparePositions(a, b));
    return await snapshotReadModels(db);
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function rowsOf(snapshot: Snapshot, table: string): Row[] {
  return snapshot[table] ?? [];
}
