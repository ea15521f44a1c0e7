import Database from 'better-sqlite3';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from '../sqlite/wal-checkpointer.js';
import type { AppendResult, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamReadRequest } from './event-store.js';
import {
  committedColumns,
  explainAppendFailure,
  firstRevisionToWrite,
  recordedEventOf,
  toRows,
  type CommittedRun,
  type EventColumns,
  type SqlEventLog,
} from './sql-event-common.js';
import { EVENT_COLUMNS, EVENTS_TABLE, INSERT_COLUMNS, ensureEventTables } from './sql-event-schema.js';

/** How long an SQLite append waits for another process holding the write lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** Distinct LIMIT counts given their own statement; other counts are bound (see ReadStatements). */
const MAX_LIMIT_STATEMENTS = 32;
/** Most appends committed in one transaction. */
const MAX_GROUP = 512;

interface PendingAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** An append's result, and its rows as a read returns them (null: one is not stored as given, see committedColumns). */
interface Appended {
  result: AppendResult;
  rows: EventColumns[] | null;
}

type GroupOutcome = ({ ok: true } & Appended) | { ok: false; error: unknown };

/**
 * The SQL event log on SQLite: ONE better-sqlite3 connection for the store's lifetime
 * (so WAL reads always see this process's writes, and ':memory:' stays one database),
 * with every hot statement prepared once (re-preparing cost more than running them).
 *
 * An append is one synchronous transaction begun IMMEDIATE: the write lock is taken
 * before the revision check and never held across an event-loop turn (so two store
 * instances in one process cannot block each other). SQLite has a single writer per
 * file, so positions (the AUTOINCREMENT rowid, never reused) are assigned and committed
 * in one order, also across processes. While another process writes, busy_timeout makes
 * the append wait, blocking this process's event loop for that long: fine for the
 * embedded default.
 *
 * Appends asked for in the same turn of the event loop (a burst of ticks, the requests of
 * many clients read in one poll of the sockets) are committed together, at the end of
 * the turn (setImmediate): one IMMEDIATE transaction, each append in a savepoint of its
 * own, so one append's failure leaves the others standing. Under load (bench:commands)
 * that is ~20 appends per commit instead of one. Each such transaction first reads the
 * head position: with the rows it commits, that is the CommittedRun live subscriptions
 * take without reading them back (sql-event-common.ts).
 */
export async function openSqliteEventLog(filename: string): Promise<SqlEventLog> {
  const connection = new Database(filename, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    await ensureEventTables((statement) => connection.exec(statement), 'sqlite');
    // A worker checkpoints the WAL (wal-checkpointer.ts): the appends' commits do not.
    const inMemory = filename === ':memory:' || filename === '';
    if (!inMemory) connection.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    return new SqliteEventLog(connection, inMemory ? null : startWalCheckpointer(filename));
  } catch (error) {
    connection.close();
    throw error;
  }
}

type Row = Record<string, unknown>;

/**
 * One SELECT with its LIMIT written into the SQL, prepared once per count: a bound
 * `LIMIT ?` cost about 40 us more per run than a literal one (better-sqlite3 12,
 * measured on the stream and log reads), more than the rest of a short read.
 */
class ReadStatements<P extends unknown[]> {
  private readonly byLimit = new Map<number | null, Database.Statement<P, EventColumns>>();
  private readonly boundLimit: Database.Statement<[...P, number], EventColumns>;

  constructor(
    private readonly connection: Database.Database,
    private readonly sql: string,
  ) {
    this.boundLimit = connection.prepare<[...P, number], EventColumns>(`${sql} LIMIT ?`).raw(true);
  }

  all(params: P, limit: number | null): RecordedEvent[] {
    let statement = this.byLimit.get(limit);
    if (!statement) {
      // A rare count (past the first few seen) is bound rather than prepared and kept.
      if (this.byLimit.size >= MAX_LIMIT_STATEMENTS) return this.boundLimit.all(...params, limit ?? -1).map(recordedEventOf);
      statement = this.connection.prepare<P, EventColumns>(limit === null ? this.sql : `${this.sql} LIMIT ${limitText(limit)}`).raw(true);
      this.byLimit.set(limit, statement);
    }
    return statement.all(...params).map(recordedEventOf);
  }
}

function limitText(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`not a LIMIT count: ${limit}`);
  return String(limit);
}

class SqliteEventLog implements SqlEventLog {
  readonly dialect = 'sqlite';
  private readonly lastRevisionStatement: Database.Statement<[string], number | null>;
  private readonly insertStatement: Database.Statement<unknown[], Row>;
  private readonly readForwardsStatements: ReadStatements<[string, number]>;
  private readonly readBackwardsStatements: ReadStatements<[string, number]>;
  private readonly readAllStatements: ReadStatements<[number]>;
  private readonly headStatement: Database.Statement<[], number | null>;
  private readonly pingStatement: Database.Statement<[], number>;
  private readonly appendAtomically: Database.Transaction<
    (streamId: string, events: NewEvent[], expected: ExpectedRevision) => Appended
  >;
  /** The head before the group's inserts (see CommittedRun), and each append's outcome. */
  private readonly appendGroup: Database.Transaction<(group: PendingAppend[]) => { head: number; outcomes: GroupOutcome[] }>;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private commitListener: ((run: CommittedRun) => void) | null = null;

  constructor(
    private readonly connection: Database.Database,
    private readonly checkpointer: WalCheckpointer | null,
  ) {
    this.lastRevisionStatement = connection
      .prepare<[string], number | null>(`SELECT MAX(revision) FROM ${EVENTS_TABLE} WHERE stream_id = ?`)
      .pluck();
    this.insertStatement = connection.prepare<unknown[], Row>(
      `INSERT INTO ${EVENTS_TABLE} (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.readForwardsStatements = new ReadStatements(
      connection,
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_TABLE} WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC`,
    );
    this.readBackwardsStatements = new ReadStatements(
      connection,
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_TABLE} WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC`,
    );
    this.readAllStatements = new ReadStatements(connection, `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_TABLE} WHERE position > ? ORDER BY position ASC`);
    this.headStatement = connection.prepare<[], number | null>(`SELECT MAX(position) FROM ${EVENTS_TABLE}`).pluck();
    this.pingStatement = connection.prepare<[], number>('SELECT 1').pluck();

    const appendRows = (streamId: string, events: NewEvent[], expected: ExpectedRevision): Appended => {
      const current = this.lastRevisionStatement.get(streamId) ?? null;
      const firstRevision = firstRevisionToWrite(streamId, expected, current);
      let position = 0;
      let rows: EventColumns[] | null = [];
      for (const row of toRows(streamId, firstRevision, events, new Date().toISOString())) {
        // One row per run: no multi-row SQL to build, and the rowid of each is the
        // position (INTEGER PRIMARY KEY), so the last one is the append's position.
        const { lastInsertRowid } = this.insertStatement.run(
          row.event_id,
          row.stream_id,
          row.revision,
          row.type,
          row.data,
          row.metadata,
          row.recorded_at,
        );
        position = Number(lastInsertRowid);
        const columns = rows === null ? null : committedColumns(position, row, row.recorded_at);
        if (columns === null) rows = null;
        else rows?.push(columns);
      }
      return { result: { nextExpectedRevision: firstRevision + events.length - 1, position: String(position) }, rows };
    };
    // Called inside a transaction, appendAtomically runs in a savepoint: a failing
    // append rolls back to it alone.
    this.appendAtomically = connection.transaction(appendRows);
    this.appendGroup = connection.transaction((group: PendingAppend[]) => {
      // Read inside the IMMEDIATE transaction: no other writer until it commits.
      const head = this.headStatement.get() ?? 0;
      if (group.length === 1) {
        // Alone, it needs no savepoint: its failure fails the transaction.
        const only = group[0]!;
        return { head, outcomes: [{ ok: true, ...appendRows(only.streamId, only.events, only.expected) }] };
      }
      const outcomes = group.map((item): GroupOutcome => {
        try {
          return { ok: true, ...this.appendAtomically(item.streamId, item.events, item.expected) };
        } catch (error) {
          return { ok: false, error };
        }
      });
      return { head, outcomes };
    });
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, MAX_GROUP);
      let outcomes: GroupOutcome[];
      let head: number | null = null;
      try {
        ({ head, outcomes } = this.appendGroup.immediate(group));
      } catch (error) {
        // The transaction itself failed (e.g. the file stayed locked): every append in it failed.
        outcomes = group.map(() => ({ ok: false, error }));
      }
      if (head !== null) this.reportCommitted(head, outcomes);
      group.forEach((item, index) => {
        const outcome = outcomes[index]!;
        if (outcome.ok) item.resolve(outcome.result);
        else {
          explainAppendFailure(outcome.error, item.streamId, item.expected, (id) => this.lastRevisionStatement.get(id) ?? null).then(item.reject, item.reject);
        }
      });
    }
  }

  /** The committed rows of a group as one run (none when a row is not stored as given). */
  private reportCommitted(head: number, outcomes: GroupOutcome[]): void {
    if (this.commitListener === null) return;
    const rows: EventColumns[] = [];
    for (const outcome of outcomes) {
      if (!outcome.ok) continue;
      if (outcome.rows === null) return;
      for (const row of outcome.rows) rows.push(row);
    }
    if (rows.length > 0) this.commitListener({ after: head, rows });
  }

  watchCommits(listener: (run: CommittedRun) => void): void {
    this.commitListener = listener;
  }

  async readStream(
    streamId: string,
    forwards: boolean,
    fromRevision: number | null,
    maxCount: number | null,
  ): Promise<RecordedEvent[]> {
    return forwards
      ? this.readForwardsStatements.all([streamId, fromRevision ?? 0], maxCount)
      : this.readBackwardsStatements.all([streamId, fromRevision ?? Number.MAX_SAFE_INTEGER], maxCount);
  }

  async readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]> {
    // Each a prepared statement run in-process: no round trip to save.
    return requests.map((request) => this.readForwardsStatements.all([request.streamId, request.fromRevision], null));
  }

  async readAll(after: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.readAllStatements.all([after], maxCount);
  }

  async headPosition(): Promise<Position | null> {
    const head = this.headStatement.get();
    return head == null ? null : String(head);
  }

  async ping(): Promise<void> {
    this.pingStatement.get();
  }

  async close(): Promise<void> {
    // Appends still waiting for the end of the turn are committed, not dropped.
    if (this.pending.length > 0) this.flush();
    await this.checkpointer?.stop();
    this.connection.close();
  }
}
