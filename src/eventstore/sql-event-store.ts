import { randomUUID } from 'node:crypto';
import type { Database as SqliteConnection } from 'better-sqlite3';
import knex, { type Knex } from 'knex';
import { Observable } from 'rxjs';
import {
  WrongExpectedVersionError,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './event-store.js';
import {
  APPEND_LOCK_ROW_ID,
  APPEND_LOCK_TABLE,
  EVENT_ID_UNIQUE_INDEX,
  EVENTS_TABLE,
  ensureEventTables,
  type EventRow,
  type NewEventRow,
  type SqlDialect,
} from './sql-event-schema.js';

/**
 * The SQL event store: one adapter on knex for SQLite (embedded default) and MariaDB.
 *
 * Ordering guarantee. Subscribers read `position > cursor`, so a position must never
 * become visible after a higher one, or a subscriber would skip it. Both dialects
 * serialise appends so that positions are assigned and committed in one order:
 * - SQLite has a single writer per file. An append is one synchronous better-sqlite3
 *   transaction begun IMMEDIATE: the write lock is taken before the revision check and
 *   never held across an event-loop turn (so two store instances in one process cannot
 *   block each other). While another process writes, busy_timeout makes the append wait,
 *   blocking this process's event loop for that long: fine for the embedded default.
 * - MariaDB: every append first locks the single row of `event_append_lock`
 *   (`SELECT ... FOR UPDATE`), held until commit, so AUTO_INCREMENT positions are
 *   allocated and committed in the same order.
 */

const DEFAULT_POLL_INTERVAL_MS = 250;
const DEFAULT_READ_ALL_PAGE = 1000;
/** Page size of the catch-up reads of a subscription. */
const SUBSCRIPTION_PAGE_SIZE = 1000;
/** How long an SQLite append waits for another process holding the write lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

export async function openSqliteEventStore(options: {
  filename: string;
  pollIntervalMs?: number;
}): Promise<EventStore> {
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: options.filename },
    useNullAsDefault: true,
    pool: {
      // One connection: better-sqlite3 is synchronous, and ':memory:' must never be
      // re-created by the pool (it would be a new, empty database).
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void) {
        try {
          // busy_timeout first: switching to WAL needs a lock another process may hold.
          connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
  return openSqlEventStore(db, 'sqlite', options.pollIntervalMs);
}

export async function openMariaDbEventStore(options: { url: string; pollIntervalMs?: number }): Promise<EventStore> {
  const db = knex({
    client: 'mysql2',
    connection: mariaDbConnectionFromUrl(options.url),
    pool: { min: 0, max: 10 },
  });
  return openSqlEventStore(db, 'mariadb', options.pollIntervalMs);
}

async function openSqlEventStore(db: Knex, dialect: SqlDialect, pollIntervalMs?: number): Promise<EventStore> {
  try {
    await ensureEventTables(db, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new SqlEventStore(db, dialect, pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
}

/** `mysql://user:pass@host:port/db` -> mysql2 settings (timestamps in UTC, bigints as strings). */
function mariaDbConnectionFromUrl(url: string): Knex.MySql2ConnectionConfig {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new Error(`not a MariaDB URL (expected mysql://user:pass@host:port/db): ${parsed.protocol}//...`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') {
    throw new Error('the MariaDB URL must name a database: mysql://user:pass@host:port/db');
  }
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    charset: 'UTF8MB4_UNICODE_CI',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
}

/** A live subscription, as the store sees it: so that `close()` can end it. */
interface LiveSubscription {
  /** Wakes the subscription so it notices that the store is closing. */
  wake(): void;
  /** Settles when its read loop has ended. */
  finished: Promise<void>;
}

class SqlEventStore implements EventStore {
  readonly kind: string;
  private closed = false;
  /** Called after every append through this instance: wakes live subscriptions at once. */
  private readonly appendListeners = new Set<() => void>();
  private readonly liveSubscriptions = new Set<LiveSubscription>();

  constructor(
    private readonly db: Knex,
    private readonly dialect: SqlDialect,
    private readonly pollIntervalMs: number,
  ) {
    this.kind = dialect;
  }

  async append(streamId: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) {
      throw new TypeError(`append to ${streamId}: at least one event is required`);
    }
    assertValidExpectedRevision(expectedRevision);
    let result: AppendResult;
    try {
      result =
        this.dialect === 'sqlite'
          ? await this.appendOnSqlite(streamId, events, expectedRevision)
          : await this.appendOnMariaDb(streamId, events, expectedRevision);
    } catch (error) {
      throw await this.explainAppendFailure(error, streamId, expectedRevision);
    }
    for (const listener of this.appendListeners) listener();
    return result;
  }

  /** Synchronous IMMEDIATE transaction on the pool's only connection (see the file comment). */
  private async appendOnSqlite(
    streamId: string,
    events: NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    // knex types raw pool connections as `any`; for client 'better-sqlite3' it is a Database.
    const connection = (await this.db.client.acquireConnection()) as SqliteConnection;
    try {
      const run = (query: Knex.QueryBuilder) => {
        const { sql, bindings } = query.toSQL().toNative();
        return connection.prepare(sql).run(...bindings);
      };
      const getFirst = <Row>(query: Knex.QueryBuilder) => {
        const { sql, bindings } = query.toSQL().toNative();
        return connection.prepare(sql).get(...bindings) as Row | undefined;
      };
      const appendAtomically = connection.transaction((): AppendResult => {
        const current = getFirst<{ last: number | null }>(this.lastRevisionQuery(this.db, streamId))?.last ?? null;
        const firstRevision = firstRevisionToWrite(streamId, expectedRevision, current);
        for (const chunk of insertChunks(toRows(streamId, firstRevision, events, new Date(), this.dialect))) {
          run(this.db(EVENTS_TABLE).insert(chunk));
        }
        const lastRevision = firstRevision + events.length - 1;
        const last = getFirst<{ position: number }>(this.positionQuery(this.db, streamId, lastRevision));
        return { nextExpectedRevision: lastRevision, position: positionOfAppended(last, streamId) };
      });
      return appendAtomically.immediate();
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  private async appendOnMariaDb(
    streamId: string,
    events: NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    return this.db.transaction(async (trx) => {
      const lock = await trx(APPEND_LOCK_TABLE).where({ id: APPEND_LOCK_ROW_ID }).forUpdate().first('id');
      if (lock === undefined) {
        throw new Error(`${APPEND_LOCK_TABLE} has no row ${APPEND_LOCK_ROW_ID}: appends would not be serialised`);
      }
      // A locking read: it sees the latest committed revision whatever the REPEATABLE READ
      // snapshot is (a plain read sees the snapshot of the transaction's first plain read;
      // were that before the lock, concurrent 'any' appends would collide).
      const lastRow = (await this.lastRevisionQuery(trx, streamId).forUpdate()) as
        | { last: number | null }
        | undefined;
      const firstRevision = firstRevisionToWrite(streamId, expectedRevision, lastRow?.last ?? null);
      for (const chunk of insertChunks(toRows(streamId, firstRevision, events, new Date(), this.dialect))) {
        await trx(EVENTS_TABLE).insert(chunk);
      }
      const lastRevision = firstRevision + events.length - 1;
      // Read back rather than compute from insertId: auto_increment_increment may not be 1 (Galera).
      const last = (await this.positionQuery(trx, streamId, lastRevision)) as { position: string } | undefined;
      return { nextExpectedRevision: lastRevision, position: positionOfAppended(last, streamId) };
    });
  }

  private lastRevisionQuery(db: Knex | Knex.Transaction, streamId: string) {
    return db(EVENTS_TABLE).where({ stream_id: streamId }).max('revision as last').first();
  }

  private positionQuery(db: Knex | Knex.Transaction, streamId: string, revision: number) {
    return db(EVENTS_TABLE).where({ stream_id: streamId, revision }).first('position');
  }

  /** Unique-constraint races become WrongExpectedVersionError, never a raw SQL error. */
  private async explainAppendFailure(error: unknown, streamId: string, expected: ExpectedRevision): Promise<unknown> {
    if (!isUniqueViolation(error)) return error;
    if (isEventIdViolation(error)) {
      return new Error(`append to ${streamId}: an event id is already recorded`, { cause: error });
    }
    const lastRow = (await this.lastRevisionQuery(this.db, streamId)) as { last: number | null } | undefined;
    return new WrongExpectedVersionError(streamId, expected, lastRow?.last ?? 'no_stream');
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const query = this.db<EventRow>(EVENTS_TABLE)
      .where({ stream_id: streamId })
      .orderBy('revision', forwards ? 'asc' : 'desc');
    if (options.fromRevision !== undefined) {
      query.andWhere('revision', forwards ? '>=' : '<=', options.fromRevision);
    }
    if (options.maxCount !== undefined) query.limit(options.maxCount);
    const rows: EventRow[] = await query.select('*');
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount ?? DEFAULT_READ_ALL_PAGE;
    if (maxCount <= 0) return [];
    const query = this.db<EventRow>(EVENTS_TABLE).orderBy('position', 'asc').limit(maxCount);
    if (options.after != null) {
      query.where('position', '>', positionBinding(options.after));
    }
    const rows: EventRow[] = await query.select('*');
    return rows.map(toRecordedEvent);
  }

  /**
   * Pull-based: reads a page, emits it, then reads the next; when caught up, waits for
   * an append through this instance (immediate) or the poll timer (other processes).
   */
  subscribeToAll(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      let cursor: Position | null = options.after ?? null;
      let unsubscribed = false;
      // Set by an append notification; checked before sleeping so none is lost while reading.
      let appendedSinceLastRead = false;
      let wakeUp: (() => void) | null = null;

      const onAppended = () => {
        appendedSinceLastRead = true;
        wakeUp?.();
      };
      const waitForAppendOrPoll = () =>
        new Promise<void>((resolve) => {
          if (unsubscribed || this.closed || appendedSinceLastRead) return resolve();
          const timer = setTimeout(finish, this.pollIntervalMs);
          function finish() {
            clearTimeout(timer);
            wakeUp = null;
            resolve();
          }
          wakeUp = finish;
        });
      const following = () => !unsubscribed && !this.closed;

      const follow = async () => {
        while (following()) {
          appendedSinceLastRead = false;
          const page = await this.readAll({ after: cursor, maxCount: SUBSCRIPTION_PAGE_SIZE });
          for (const event of page) {
            if (!following()) return;
            subscriber.next(event);
            cursor = event.position;
          }
          if (page.length < SUBSCRIPTION_PAGE_SIZE) await waitForAppendOrPoll();
        }
      };

      const live: LiveSubscription = { wake: () => wakeUp?.(), finished: Promise.resolve() };
      this.appendListeners.add(onAppended);
      this.liveSubscriptions.add(live);
      live.finished = follow()
        .then(
          () => {
            if (!unsubscribed) subscriber.complete(); // the store was closed
          },
          (error: unknown) => {
            if (unsubscribed) return;
            // A read cut short by close() is an end, not a failure.
            if (this.closed) subscriber.complete();
            else subscriber.error(error);
          },
        )
        .finally(() => {
          this.appendListeners.delete(onAppended);
          this.liveSubscriptions.delete(live);
        });

      return () => {
        unsubscribed = true;
        wakeUp?.();
      };
    });
  }

  async headPosition(): Promise<Position | null> {
    const row = (await this.db(EVENTS_TABLE).max('position as head').first()) as
      | { head: number | string | null }
      | undefined;
    return row?.head == null ? null : String(row.head);
  }

  comparePositions(a: Position, b: Position): number {
    const left = parsePosition(a);
    const right = parsePosition(b);
    return left < right ? -1 : left > right ? 1 : 0;
  }

  async ping(): Promise<void> {
    await this.db.raw('select 1');
  }

  /** Completes live subscriptions (after their current read), then closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.liveSubscriptions];
    for (const subscription of subscriptions) subscription.wake();
    await Promise.allSettled(subscriptions.map((subscription) => subscription.finished));
    await this.db.destroy();
  }
}

function assertValidExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new TypeError(`expected revision must be a non-negative integer, got ${expected}`);
  }
}

/** EventStoreDB's rules; returns the revision of the first event to write. */
function firstRevisionToWrite(streamId: string, expected: ExpectedRevision, current: number | null): number {
  const holds =
    expected === 'any'
      ? true
      : expected === 'no_stream'
        ? current === null
        : expected === 'stream_exists'
          ? current !== null
          : current === expected;
  if (!holds) throw new WrongExpectedVersionError(streamId, expected, current ?? 'no_stream');
  return current === null ? 0 : current + 1;
}

function toRows(
  streamId: string,
  firstRevision: number,
  events: NewEvent[],
  recordedAt: Date,
  dialect: SqlDialect,
): NewEventRow[] {
  // SQLite stores the ISO string as is; mysql2 writes a Date as UTC (timezone 'Z').
  const recordedAtValue = dialect === 'sqlite' ? recordedAt.toISOString() : recordedAt;
  return events.map((event, index) => ({
    event_id: event.id ?? randomUUID(),
    stream_id: streamId,
    revision: firstRevision + index,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
    recorded_at: recordedAtValue,
  }));
}

/**
 * Rows per INSERT statement. knex writes a multi-row SQLite insert as a compound SELECT
 * (at most 500 terms) and SQLite allows 32766 bound variables; MariaDB 65535. Chunks of
 * one append stay in its transaction, so the append is still all or nothing.
 */
const INSERT_CHUNK_ROWS = 200;

function* insertChunks(rows: NewEventRow[]): Generator<NewEventRow[]> {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
    yield rows.slice(start, start + INSERT_CHUNK_ROWS);
  }
}

function positionOfAppended(row: { position: number | string } | undefined, streamId: string): Position {
  if (row === undefined) throw new Error(`append to ${streamId}: the appended event cannot be read back`);
  return String(row.position);
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: String(row.position),
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    recordedAt: row.recorded_at instanceof Date ? row.recorded_at.toISOString() : row.recorded_at,
  };
}

/** SQL positions are decimal strings of the events table's AUTO_INCREMENT key. */
function parsePosition(position: Position): bigint {
  if (!/^\d+$/.test(position)) {
    throw new TypeError(`not a position of the SQL event store: ${JSON.stringify(position)}`);
  }
  return BigInt(position);
}

/** Positions bound as numbers (knex bindings have no bigint); 2^53 events is out of reach. */
function positionBinding(position: Position): number {
  const value = parsePosition(position);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`position beyond Number.MAX_SAFE_INTEGER: ${position}`);
  }
  return Number(value);
}

/**
 * Which unique index was hit. Only the driver's own text is looked at: knex prefixes the
 * SQL to `message`, and the SQL names every column.
 * MariaDB: "Duplicate entry '...' for key 'events_event_id_unique'" (MySQL 8: 'events.events_event_id_unique');
 * SQLite: "UNIQUE constraint failed: events.event_id".
 */
function isEventIdViolation(error: Error & { code: string }): boolean {
  if (error.code === 'ER_DUP_ENTRY') {
    const serverMessage = (error as { sqlMessage?: unknown }).sqlMessage;
    return typeof serverMessage === 'string' && new RegExp(`for key '([^']*\\.)?${EVENT_ID_UNIQUE_INDEX}'`).test(serverMessage);
  }
  return /UNIQUE constraint failed: events\.event_id\b/.test(error.message);
}

/** mysql2: ER_DUP_ENTRY; better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY. */
function isUniqueViolation(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error) || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
