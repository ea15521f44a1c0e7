/**
 * verify: rebuilds the read models into shadow tables (`<table>__verify`) and
 * reports every row that differs from the live tables.
 *
 * The live tables move on while the shadow is built, so both sides are taken at the
 * same position: a snapshot of the live database (live-snapshot.ts) is opened first
 * and each projection's checkpoint read in it; the shadow of each projection is built
 * from the log up to exactly that checkpoint (events after it are ignored); then the
 * shadow is compared with the live rows AS SEEN IN THE SNAPSHOT, i.e. with the rows
 * written together with that checkpoint. Later writes by the running service are not
 * in the comparison, and nothing is compared against a half-applied state.
 *
 * Verify writes only its shadow tables (dropped at the end); it needs no lease and
 * may run while the service runs. Two verifies at once would share them: run one.
 * On MariaDB the snapshot holds the live tables' metadata locks until verify ends, so
 * a blue/green swap (RENAME TABLE) waits for it, and reads queue behind the waiting
 * swap: do not verify while a blue/green rebuild is about to swap.
 */
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { NO_CHECKPOINT, type Checkpoint } from './checkpoints.js';
import { openLiveSnapshot, type LiveSnapshot } from './live-snapshot.js';
import type { Row, RowProjection } from './projection.js';
import { ProjectionWorkingSet } from './projection-working-set.js';
import type { ReadModelDb } from './read-model-db.js';
import { decodeRow, type RowValue } from './row-codec.js';
import { replayPages } from './replay-pages.js';
import { dropShadowTables, prepareShadowTables } from './shadow-projections.js';

export interface ColumnDifference {
  column: string;
  live: RowValue;
  expected: RowValue;
}

export interface RowDifference {
  projection: string;
  table: string;
  key: string;
  /** missing: the replay has the row, the live table not; extra: the other way round; differs: both, with other values. */
  kind: 'missing' | 'extra' | 'differs';
  columns: ColumnDifference[];
}

export interface VerifyOptions {
  onDifference(difference: RowDifference): void;
  /** Events folded into the shadows so far. */
  onProgress?(eventsDone: number): void;
  pageSize?: number;
  maxRows?: number;
}

export interface VerifyResult {
  /** The position each projection was compared at (its live checkpoint when verify began). */
  positions: Record<string, Position | null>;
  rowsCompared: number;
  differences: number;
  events: number;
}

const DEFAULTS = { pageSize: 5000, maxRows: 60_000, comparePageSize: 2000 };

/** The projection, blind to the events after `upTo`, so its shadow stops at the live checkpoint. */
function upToCheckpoint(projection: RowProjection, upTo: Position | null, store: EventStore): RowProjection {
  return {
    ...projection,
    keyOf: (event: RecordedEvent) => (upTo === null || store.comparePositions(event.position, upTo) > 0 ? null : projection.keyOf(event)),
  };
}

function latest(store: EventStore, checkpoints: Iterable<Checkpoint>): Position | null {
  let highest: Position | null = null;
  for (const { position } of checkpoints) {
    if (position !== null && (highest === null || store.comparePositions(position, highest) > 0)) highest = position;
  }
  return highest;
}

function columnDifferences(live: Row, expected: Row): ColumnDifference[] {
  const columns = new Set([...Object.keys(live), ...Object.keys(expected)]);
  const differences: ColumnDifference[] = [];
  for (const column of columns) {
    const liveValue = live[column] ?? null;
    const expectedValue = expected[column] ?? null;
    if (liveValue !== expectedValue) differences.push({ column, live: liveValue, expected: expectedValue });
  }
  return differences;
}

/** Walks both tables in key order, a page at a time (memory stays flat on large tables). */
async function compareTable(
  db: ReadModelDb,
  snapshot: LiveSnapshot,
  live: RowProjection,
  shadow: RowProjection,
  onDifference: (difference: RowDifference) => void,
): Promise<{ rows: number; differences: number }> {
  const pageSize = DEFAULTS.comparePageSize;
  const keyOf = (row: Row) => String(row[live.key]);
  const livePages = pagesOf((after) => snapshot.page(live.table, live.key, after, pageSize), keyOf);
  const shadowPages = pagesOf(async (after) => {
    const query = db.knex(shadow.table).select('*').orderBy(shadow.key).limit(pageSize);
    if (after !== null) query.where(shadow.key, '>', after);
    return ((await query) as Array<Record<string, unknown>>).map(decodeRow);
  }, keyOf);
  let rows = 0;
  let differences = 0;
  const report = (kind: RowDifference['kind'], key: string, columns: ColumnDifference[]) => {
    differences += 1;
    onDifference({ projection: live.name, table: live.table, key, kind, columns });
  };
  let liveRow = await livePages.next();
  let shadowRow = await shadowPages.next();
  while (liveRow !== null || shadowRow !== null) {
    rows += 1;
    const liveKey = liveRow === null ? null : keyOf(liveRow);
    const shadowKey = shadowRow === null ? null : keyOf(shadowRow);
    if (shadowRow !== null && (liveKey === null || (shadowKey !== null && shadowKey < liveKey))) {
      report('missing', shadowKey ?? '', columnDifferences({}, shadowRow));
      shadowRow = await shadowPages.next();
    } else if (liveRow !== null && (shadowKey === null || (liveKey !== null && liveKey < shadowKey))) {
      report('extra', liveKey ?? '', columnDifferences(liveRow, {}));
      liveRow = await livePages.next();
    } else if (liveRow !== null && shadowRow !== null) {
      const columns = columnDifferences(liveRow, shadowRow);
      if (columns.length > 0) report('differs', liveKey ?? '', columns);
      liveRow = await livePages.next();
      shadowRow = await shadowPages.next();
    }
  }
  return { rows, differences };
}

/** One row at a time from a paged, key-ordered read. */
function pagesOf(read: (afterKey: string | null) => Promise<Row[]>, keyOf: (row: Row) => string): { next(): Promise<Row | null> } {
  let page: Row[] = [];
  let index = 0;
  let afterKey: string | null = null;
  let done = false;
  return {
    async next() {
      if (index >= page.length) {
        if (done) return null;
        page = await read(afterKey);
        index = 0;
        const last = page[page.length - 1];
        if (last === undefined) {
          done = true;
          return null;
        }
        afterKey = keyOf(last);
      }
      return page[index++] ?? null;
    },
  };
}

export async function verifyReadModels(
  store: EventStore,
  db: ReadModelDb,
  projections: readonly RowProjection[],
  options: VerifyOptions,
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? DEFAULTS.pageSize;
  const maxRows = options.maxRows ?? DEFAULTS.maxRows;
  const snapshot = await openLiveSnapshot(db);
  let shadows: RowProjection[] = [];
  try {
    // The first read of the snapshot: the rows compared below are those of these checkpoints.
    const liveCheckpoints = await snapshot.checkpoints(projections.map((projection) => projection.name));
    const limits = projections.map((projection) => liveCheckpoints.get(projection.name)?.position ?? null);
    shadows = (await prepareShadowTables(db, projections, 'verify')).map((shadow, index) => upToCheckpoint(shadow, limits[index] ?? null, store));
    const upTo = latest(store, liveCheckpoints.values());
    const shadowCheckpoints = new Map(shadows.map((shadow) => [shadow.name, NO_CHECKPOINT]));
    const workingSet = new ProjectionWorkingSet(db, shadows, shadowCheckpoints, (a, b) => store.comparePositions(a, b), maxRows);
    const events =
      upTo === null
        ? 0
        : await replayPages({
            store,
            workingSet,
            after: null,
            upTo,
            pageSize,
            maxRows,
            flushIntervalMs: Number.POSITIVE_INFINITY,
            flush: async (pending) => void (await pending.commit()),
            keepGoing: () => true,
            ...(options.onProgress && { onPage: options.onProgress }),
          });
    let rowsCompared = 0;
    let differences = 0;
    for (const [index, live] of projections.entries()) {
      const shadow = shadows[index];
      if (!shadow) continue;
      const compared = await compareTable(db, snapshot, live, shadow, options.onDifference);
      rowsCompared += compared.rows;
      differences += compared.differences;
    }
    const positions = Object.fromEntries(projections.map((projection, index) => [projection.name, limits[index] ?? null]));
    return { positions, rowsCompared, differences, events };
  } finally {
    await snapshot.close();
    await dropShadowTables(db, shadows).catch(() => undefined);
  }
}
