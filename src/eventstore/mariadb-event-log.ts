import mysql, { type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { WrongExpectedVersionError, type AppendResult, type ExpectedRevision, type NewEvent, type Position, type RecordedEvent, type StreamReadRequest } from './event-store.js';
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
import {
  APPEND_LOCK_ROW_ID,
  APPEND_LOCK_TABLE,
  EVENTS_TABLE,
  INSERT_COLUMNS,
  ensureEventTables,
  type NewEventRow,
} from './sql-event-schema.js';

/**
 * The SQL event log on MariaDB (mysql2, no query builder on the hot path).
 *
 * Ordering. Subscribers read `position > cursor`, so a position must never become
 * visible after a higher one. Every append transaction first locks the single row of
 * `event_append_lock` (`SELECT ... FOR UPDATE`), held until commit, so AUTO_INCREMENT
 * positions are allocated and committed in one order, across processes too.
 *
 * Group commit. The lock makes appends one at a time, and each commit waits for a redo
 * log flush; one transaction per append would cap the store at one flush per append.
 * So appends of this process go through one queue: a transaction takes the lock once,
 * checks every queued append's expected revision individually (in queue order, each
 * seeing the revisions the earlier ones of the group write), inserts the rows of those
 * that pass in one multi-row INSERT, commits, then settles each append: the passing
 * ones resolve, the failing ones reject with WrongExpectedVersionError (actual
 * revision) without failing the others. Appends arriving meanwhile form the next group.
 * A group that fails to insert (a repeated event id, say) is rolled back and its appends
 * retried one per transaction, so one bad append never fails another.
 *
 * Round trips per group (each one packet, statements run in order on the server):
 *   1. START TRANSACTION; lock row FOR UPDATE (with @@auto_increment_increment); the
 *      head position (a locking read, so the latest commit: the CommittedRun proof);
 *      the last revision of each stream of the group, in one locking read (a
 *      subquery per stream, or one GROUP BY for a large group: GROUP_BY_MIN_STREAMS);
 *   2. INSERT ... VALUES (all rows); COMMIT (a round trip more per TEXT_PACKET_CHARS
 *      of SQL: a group of 256 ticker appends takes two).
 * The lock and the revision read cannot be ONE statement: MariaDB evaluates
 * (constant) revision subqueries while optimising, before it waits for the lock row,
 * which reads a stale revision (plain read) or deadlocks with the lock holder (locking
 * read). A multi-statement packet runs them in order for the cost of one round trip.
 * Values are written as literals that read the same whatever the sql_mode
 * (NO_BACKSLASH_ESCAPES included): printable ASCII without a backslash quoted as is
 * (`_utf8mb4'..'`, quotes doubled: JSON events usually are), anything else as hex
 * (`_utf8mb4 X'..'`), which doubles its bytes. A row too large for
 * a packet as hex (over half of max_allowed_packet, or 4 MiB) is inserted alone by a
 * prepared statement in the same transaction; an event larger than max_allowed_packet
 * is refused before the transaction, so that it fails alone (it would end the connection).
 *
 * Positions come from the INSERT's insertId (first row) plus k * the session's
 * auto_increment_increment (read under the lock, in round trip 1: Galera sets it to
 * the cluster size). A multi-row INSERT gets evenly spaced values when
 * innodb_autoinc_lock_mode is 0 or 1 ("consecutive": they are reserved at once). With
 * mode 2 ("interleaved", which Galera requires) that is only so when nothing else
 * inserts meanwhile, which the lock ensures on one node but not for rows applied from
 * other nodes; so with mode 2 the positions of a multi-row INSERT are read back by
 * event id after the commit (one query, outside the lock).
 *
 * Up to MAX_GROUPS_IN_FLIGHT transactions are under way: as soon as one holds the lock,
 * the next group starts and waits for the lock on the server, so that its lock, reads
 * and inserts follow the previous commit at once (and their log flushes can be shared).
 *
 * Reads are one prepared statement (`execute`) each, on a pool of their own.
 */

/**
 * Longest a committed group waits for the next group's lock before settling its appends
 * (see runTransaction). The next group's locking read is answered within a millisecond
 * of the COMMIT when no other process holds the lock.
 */
const LOCK_HANDOVER_WAIT_MS = 5;
/** Connections of the read pool (the knex pool had 10). */
const READ_POOL_SIZE = 10;
/** Transactions of this process under way at once: one holding the lock, one waiting for it. */
const MAX_GROUPS_IN_FLIGHT = 2;
/** Bounds of one group: appends, and rows (a large append still goes alone). */
const MAX_GROUP_APPENDS = 256;
const MAX_GROUP_ROWS = 2000;
/**
 * From this many streams in a group, their revisions are read by one GROUP BY statement;
 * below, by one `=` subquery each (UNION ALL). In groups of 256 (bench:ticker) the GROUP
 * BY costs the server a third of the CPU per append; in small groups of long streams
 * (bench:eventstore) it was slower.
 */
const GROUP_BY_MIN_STREAMS = 64;
/** Rows per INSERT statement. */
const INSERT_CHUNK_ROWS = 500;
/** Bytes of SQL per packet, at most (and at most half the server's max_allowed_packet). */
const MAX_PACKET_SQL_BYTES = 4 * 1024 * 1024;
/**
 * Rows of a group go in packets of at most this much SQL text (a round trip each; one
 * row larger than this still goes alone in a text packet): V8 allocates a string over
 * 128 KiB in its large-object space, measured here at ~20 times the cost per byte
 * (joining 135 KB: 1.3 ms, 127 KB: 0.07 ms), and each packet is built as one string.
 */
const TEXT_PACKET_CHARS = 120_000;
/**
 * The columns of EVENT_COLUMNS as read, the two the event carries as strings formatted
 * by the server: the position in decimal (mysql2 turns a BIGINT into a string through
 * a Long object), and recorded_at as the ISO string a Date read by mysql2 would give
 * (DATETIME(3) is UTC here), cheaper than a Date per row turned into that string.
 */
const READ_COLUMNS = `CAST(position AS CHAR), event_id, stream_id, revision, type, data, metadata, CONCAT(LEFT(DATE_FORMAT(recorded_at, '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')`;
/** Streams read by one SELECT of readStreams, and the sizes its statements are padded to. */
const STREAMS_PER_READ = 64;
const READ_SIZES = [1, 4, 16, STREAMS_PER_READ];
/** `revision <= ?` with no start: the INT column's maximum. */
const MAX_REVISION = 2_147_483_647;

export interface MariaDbEventLogOptions {
  url: string;
  /**
   * Read the positions of multi-row inserts back instead of computing them from
   * insertId. Default: only when innodb_autoinc_lock_mode is 2 (see the file comment).
   */
  readBackPositions?: boolean;
}

export async function openMariaDbEventLog(options: MariaDbEventLogOptions): Promise<SqlEventLog> {
  // trace off: mysql2's promise API would capture a stack trace at every query, for
  // the caller's frames in its errors (~2.5 % of the service's CPU in bench:fanout);
  // a failed query's error still carries its code, SQL state and message.
  const settings = { ...mariaDbConnectionFromUrl(options.url), trace: false };
  const readPool = mysql.createPool({ ...settings, connectionLimit: READ_POOL_SIZE });
  const writePool = mysql.createPool({
    ...settings,
    connectionLimit: MAX_GROUPS_IN_FLIGHT,
    multipleStatements: true,
    queryFormat: sqlAsWritten,
  });
  try {
    await ensureEventTables((statement) => readPool.query(statement), 'mariadb');
    const [rows] = await readPool.query<RowDataPacket[]>(
      'SELECT @@GLOBAL.innodb_autoinc_lock_mode AS lockMode, @@GLOBAL.max_allowed_packet AS maxPacket',
    );
    const readBackPositions = options.readBackPositions ?? Number(rows[0]?.lockMode) === 2;
    const serverMaxPacket = Number(rows[0]?.maxPacket);
    const maxPacket = Number.isSafeInteger(serverMaxPacket) && serverMaxPacket > 0 ? serverMaxPacket : 4 * 1024 * 1024;
    const packetBudget = Math.min(MAX_PACKET_SQL_BYTES, Math.floor(maxPacket / 2));
    return new MariaDbEventLog(readPool, writePool, { readBackPositions, packetBudget, maxPacket });
  } catch (error) {
    await Promise.allSettled([readPool.end(), writePool.end()]);
    throw error;
  }
}

/** `mysql://user:pass@host:port/db` -> mysql2 settings (timestamps in UTC, bigints as strings). */
export function mariaDbConnectionFromUrl(url: string): PoolOptions {
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

interface PendingAppend {
  streamId: string;
  /** streamKey(streamId), computed once. */
  key: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** What a group transaction decided for one append: rows to write, or a refusal. */
type Decision =
  | { append: PendingAppend; refusal: Error }
  | { append: PendingAppend; refusal: null; rows: MariaDbRow[]; lastRevision: number; position: bigint | null };
type Write = Extract<Decision, { refusal: null }>;

type MariaDbRow = NewEventRow & { recorded_at: string };

/** A row committed, with its position. */
interface Inserted {
  position: bigint;
  row: MariaDbRow;
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A server error on a live connection: the failed statement was undone, the transaction still open. */
function isStatementError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { errno?: unknown }).errno === 'number' && (error as { fatal?: unknown }).fatal !== true;
}

class MariaDbEventLog implements SqlEventLog {
  readonly dialect = 'mariadb';
  private readonly queue: PendingAppend[] = [];
  private groupsInFlight = 0;
  /**
   * A group has started but does not hold the lock yet (the next one waits for it):
   * resolves when it holds it. Null when no group is waiting for the lock.
   */
  private lockTaken: Promise<void> | null = null;
  private pumpScheduled = false;
  private closing = false;
  private drained: (() => void) | null = null;
  private commitListener: ((run: CommittedRun) => void) | null = null;

  constructor(
    private readonly readPool: Pool,
    private readonly writePool: Pool,
    private readonly settings: { readBackPositions: boolean; packetBudget: number; maxPacket: number },
  ) {}

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closing) return Promise.reject(new Error('the event store is closed'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, key: streamKey(streamId), events, expected, resolve, reject });
      // In a microtask: appends made in the same turn join the same group.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        queueMicrotask(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Starts a group when one may start: appends queued, a slot free, none waiting for the lock. */
  private pump(): void {
    while (this.queue.length > 0 && this.groupsInFlight < MAX_GROUPS_IN_FLIGHT && this.lockTaken === null) {
      const group = this.takeGroup();
      this.groupsInFlight += 1;
      let lockSignalled = false;
      let signalLockTaken: () => void = () => undefined;
      this.lockTaken = new Promise<void>((resolve) => (signalLockTaken = resolve));
      const onLocked = () => {
        if (lockSignalled) return;
        lockSignalled = true;
        this.lockTaken = null;
        signalLockTaken();
        this.pump();
      };
      void this.commitGroup(group, onLocked)
        .catch(() => undefined) // never rejects; belt and braces against an unhandled rejection
        .finally(() => {
          onLocked();
          this.groupsInFlight -= 1;
          this.pump();
          if (this.groupsInFlight === 0 && this.queue.length === 0) this.drained?.();
        });
    }
  }

  /** The next group: queued appends in order, within the bounds (at least one append). */
  private takeGroup(): PendingAppend[] {
    let count = 0;
    let rows = 0;
    while (count < this.queue.length && count < MAX_GROUP_APPENDS) {
      const events = this.queue[count]!.events.length;
      if (count > 0 && rows + events > MAX_GROUP_ROWS) break;
      rows += events;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  /** One transaction for the group; never rejects (every append is settled). */
  private async commitGroup(group: PendingAppend[], onLocked: () => void): Promise<void> {
    let connection: PoolConnection;
    try {
      connection = await this.writePool.getConnection();
    } catch (error) {
      for (const append of group) append.reject(error);
      return;
    }
    let healthy = true;
    try {
      const outcome = await this.runTransaction(connection, group, onLocked);
      if (outcome === 'retry one by one') {
        for (const append of group) {
          if (!healthy) {
            append.reject(new Error(`append to ${append.streamId}: the connection to MariaDB was lost`));
          } else if ((await this.runTransaction(connection, [append], () => undefined)) === 'connection lost') {
            healthy = false;
          }
        }
      } else if (outcome === 'connection lost') {
        healthy = false;
      }
    } catch (error) {
      // Not expected (runTransaction settles what it can); settle the rest, never leave one hanging.
      healthy = false;
      for (const append of group) append.reject(error);
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  /**
   * Runs one group transaction and settles its appends, except when it returns
   * 'retry one by one' (an insert failed in a group of several; rolled back, nothing settled).
   */
  private async runTransaction(
    connection: PoolConnection,
    group: PendingAppend[],
    onLocked: () => void,
  ): Promise<'done' | 'retry one by one' | 'connection lost'> {
    let decisions: Decision[];
    let increment: bigint;
    let head: number;
    try {
      const locked = await this.lockAndReadRevisions(connection, group);
      onLocked();
      increment = locked.increment;
      head = locked.head;
      decisions = this.decide(group, locked.current);
    } catch (error) {
      onLocked();
      const lost = !(await this.rollback(connection, error));
      for (const append of group) append.reject(error);
      return lost ? 'connection lost' : 'done';
    }

    const writes = decisions.filter((decision) => decision.refusal === null);
    if (writes.length === 0) {
      // Nothing to write: release the lock, refuse them all.
      const lost = !(await this.rollback(connection, null));
      for (const decision of decisions) decision.append.reject(decision.refusal);
      return lost ? 'connection lost' : 'done';
    }

    let multiRowInsert: boolean;
    let inserted: Inserted[];
    try {
      ({ multiRowInsert, inserted } = await this.insertAndCommit(connection, writes, increment));
    } catch (error) {
      const lost = !(await this.rollback(connection, error));
      if (!lost && group.length > 1 && isStatementError(error)) return 'retry one by one';
      for (const decision of decisions) {
        const append = decision.append;
        append.reject(lost || decision.refusal === null ? await this.explain(error, append) : decision.refusal);
      }
      return lost ? 'connection lost' : 'done';
    }

    // From this COMMIT on, the group waiting for the lock holds it on the server. Let the
    // answer of its reads be handled first (it then decides and sends its INSERT at once),
    // and settle this group's appends after: their continuations (a ticker's next records,
    // the subscribers of the committed run) then run while the server inserts, not while
    // the lock waits for this process (bench:ticker on MariaDB: 6-15 ms of each ~25 ms
    // group cycle). Bounded: the lock may go to another process first.
    if (this.lockTaken !== null) await settledWithin(this.lockTaken, LOCK_HANDOVER_WAIT_MS);
    // Positions from insertId only, on one node (Galera: several, and interleaved insert
    // ids, hence readBackPositions): there the lock proves the run.
    if (!this.settings.readBackPositions && increment === 1n) this.reportCommitted(head, inserted);
    if (this.settings.readBackPositions && multiRowInsert) {
      try {
        await this.readBackPositions(writes);
      } catch (error) {
        // Committed, but the positions are unknown: say so rather than guess.
        for (const decision of decisions) {
          decision.append.reject(
            decision.refusal ??
              new Error(`append to ${decision.append.streamId}: committed, but its position cannot be read back`, { cause: error }),
          );
        }
        return 'done';
      }
    }
    for (const decision of decisions) {
      if (decision.refusal !== null) decision.append.reject(decision.refusal);
      else if (decision.position === null) {
        decision.append.reject(new Error(`append to ${decision.append.streamId}: the appended event cannot be read back`));
      } else {
        decision.append.resolve({ nextExpectedRevision: decision.lastRevision, position: decision.position.toString() });
      }
    }
    return 'done';
  }

  /**
   * Round trip 1, one packet: begin, lock, then the last revision of each stream of the
   * group in one locking read (run by the server after the lock is held; see the file
   * comment). The map is keyed by streamKey, as the column tells streams apart.
   */
  private async lockAndReadRevisions(
    connection: PoolConnection,
    group: PendingAppend[],
  ): Promise<{ increment: bigint; head: number; current: Map<string, number | null> }> {
    const streams = [...new Set(group.map((append) => append.key))];
    const [results] = await connection.query<RowDataPacket[][]>(
      [
        'START TRANSACTION',
        `SELECT id, @@SESSION.auto_increment_increment AS increment FROM ${APPEND_LOCK_TABLE} WHERE id = ${APPEND_LOCK_ROW_ID} FOR UPDATE`,
        // A statement of its own, after the lock is held (a subquery of the lock's
        // statement could be read before the wait, see the file comment).
        `SELECT MAX(position) AS head FROM ${EVENTS_TABLE} FOR UPDATE`,
        revisionsQuery(streams),
      ].join(';\n'),
    );
    const lockRows = results[1] ?? [];
    if (lockRows.length === 0) {
      throw new Error(`${APPEND_LOCK_TABLE} has no row ${APPEND_LOCK_ROW_ID}: appends would not be serialised`);
    }
    const current = new Map<string, number | null>();
    for (const row of results[3] ?? []) {
      const stream = streams.length < GROUP_BY_MIN_STREAMS ? streams[Number(row.i)]! : streamKey(String(row.stream_id));
      current.set(stream, row.last == null ? null : Number(row.last));
    }
    const head = results[2]?.[0]?.head;
    return { increment: BigInt(String(lockRows[0]!.increment ?? 1)), head: head == null ? 0 : Number(head), current };
  }

  /**
   * Round trip 2 (more for a large group, see TEXT_PACKET_CHARS): multi-row INSERTs of
   * literals (textLiteral), and the COMMIT in the last packet. A row too large for a packet as hex goes alone as a
   * prepared INSERT (binary, not doubled). Sets each write's position; returns whether
   * an INSERT wrote several rows, and the rows inserted with their positions, in order.
   */
  private async insertAndCommit(
    connection: PoolConnection,
    writes: Write[],
    increment: bigint,
  ): Promise<{ multiRowInsert: boolean; inserted: Inserted[] }> {
    type Slot = { write: Write; row: MariaDbRow; last: boolean };
    type Step = { kind: 'text'; statements: { sql: string; slots: Slot[] }[] } | { kind: 'prepared'; row: MariaDbRow; slot: Slot };
    const budget = this.settings.packetBudget;
    const packetChars = Math.min(budget, TEXT_PACKET_CHARS);
    const steps: Step[] = [];
    let text: Extract<Step, { kind: 'text' }> = { kind: 'text', statements: [] };
    let textBytes = 0;
    let values: string[] = [];
    let slots: Slot[] = [];
    let valuesBytes = 0;
    let multiRowInsert = false;
    const endStatement = () => {
      if (values.length === 0) return;
      const sql = `INSERT INTO ${EVENTS_TABLE} (${INSERT_COLUMNS}) VALUES ${values.join(',')}`;
      if (text.statements.length > 0 && textBytes + sql.length > packetChars) endPacket();
      text.statements.push({ sql, slots });
      textBytes += sql.length + 2;
      if (slots.length > 1) multiRowInsert = true;
      values = [];
      slots = [];
      valuesBytes = 0;
    };
    const endPacket = () => {
      if (text.statements.length > 0) steps.push(text);
      text = { kind: 'text', statements: [] };
      textBytes = 0;
    };
    for (const write of writes) {
      write.rows.forEach((row, index) => {
        const slot = { write, row, last: index === write.rows.length - 1 };
        const fits = rowBytesAtMost(row) * 2 + 200 <= budget || rowBytes(row) * 2 + 200 <= budget;
        const literal = fits ? rowLiteral(row) : null;
        if (literal === null) {
          endStatement();
          endPacket();
          steps.push({ kind: 'prepared', row, slot });
          return;
        }
        if (values.length >= INSERT_CHUNK_ROWS || (values.length > 0 && valuesBytes + literal.length > packetChars)) endStatement();
        values.push(literal);
        slots.push(slot);
        valuesBytes += literal.length + 1;
      });
    }
    endStatement();
    endPacket();

    const inserted: Inserted[] = [];
    const setPositions = (statementSlots: Slot[], insertId: unknown) => {
      const first = BigInt(String(insertId ?? 0));
      statementSlots.forEach(({ write, row, last }, index) => {
        const position = first + BigInt(index) * increment;
        inserted.push({ position, row });
        if (last) write.position = position;
      });
    };
    for (const [index, step] of steps.entries()) {
      const withCommit = index === steps.length - 1;
      if (step.kind === 'prepared') {
        const { row } = step;
        const [header] = await connection.execute<ResultSetHeader>(
          `INSERT INTO ${EVENTS_TABLE} (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [row.event_id, row.stream_id, row.revision, row.type, row.data, row.metadata, row.recorded_at],
        );
        setPositions([step.slot], header.insertId);
        if (withCommit) await connection.query('COMMIT');
        continue;
      }
      const sql = step.statements.map((statement) => statement.sql);
      if (withCommit) sql.push('COMMIT');
      const [results] = await connection.query<ResultSetHeader[] | ResultSetHeader>(sql.join(';\n'));
      const headers = Array.isArray(results) ? results : [results];
      step.statements.forEach((statement, position) => setPositions(statement.slots, headers[position]?.insertId));
    }
    return { multiRowInsert, inserted };
  }

  /** The group's committed rows as one run (none when a row is not stored as given). */
  private reportCommitted(head: number, inserted: Inserted[]): void {
    if (this.commitListener === null) return;
    const rows: EventColumns[] = [];
    for (const { position, row } of inserted) {
      // DATETIME(3) in UTC, read back as its ISO string (READ_COLUMNS).
      const columns = committedColumns(Number(position), row, `${row.recorded_at.replace(' ', 'T')}Z`);
      if (columns === null || position > BigInt(Number.MAX_SAFE_INTEGER)) return;
      rows.push(columns);
    }
    this.commitListener({ after: head, rows });
  }

  watchCommits(listener: (run: CommittedRun) => void): void {
    this.commitListener = listener;
  }

  /**
   * Checks each append in queue order against the revisions, as updated by the earlier
   * ones (of the same stream by streamKey). An event no packet could carry is refused
   * here, so that it fails alone.
   */
  private decide(group: PendingAppend[], current: Map<string, number | null>): Decision[] {
    const recordedAt = mariaDbDateTime(new Date());
    const rowLimit = this.settings.maxPacket - 1024;
    return group.map((append): Decision => {
      let firstRevision: number;
      try {
        firstRevision = firstRevisionToWrite(append.streamId, append.expected, current.get(append.key) ?? null);
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) return { append, refusal: error };
        throw error;
      }
      const rows = toRows(append.streamId, firstRevision, append.events, recordedAt);
      const tooLarge = rows.find((row) => rowBytesAtMost(row) > rowLimit && rowBytes(row) > rowLimit);
      if (tooLarge !== undefined) {
        const message = `append to ${append.streamId}: an event of ${rowBytes(tooLarge)} bytes exceeds the server's max_allowed_packet (${this.settings.maxPacket})`;
        return { append, refusal: new RangeError(message) };
      }
      const lastRevision = firstRevision + append.events.length - 1;
      current.set(append.key, lastRevision);
      return { append, refusal: null, rows, lastRevision, position: null };
    });
  }

  /** Positions of the last row of each write, by event id (committed rows; outside the lock). */
  private async readBackPositions(writes: Write[]): Promise<void> {
    const byEventId = new Map(writes.map((write) => [write.rows[write.rows.length - 1]!.event_id, write]));
    const ids = [...byEventId.keys()];
    for (let start = 0; start < ids.length; start += INSERT_CHUNK_ROWS) {
      const slice = ids.slice(start, start + INSERT_CHUNK_ROWS);
      const [rows] = await this.readPool.query<RowDataPacket[]>(
        `SELECT event_id, position FROM ${EVENTS_TABLE} WHERE event_id IN (${slice.map(asciiLiteral).join(',')})`,
      );
      for (const row of rows) {
        const write = byEventId.get(String(row.event_id));
        if (write) write.position = BigInt(String(row.position));
      }
    }
  }

  /** Ends the transaction; false when the connection is unusable (then it must be destroyed). */
  private async rollback(connection: PoolConnection, cause: unknown): Promise<boolean> {
    if (cause instanceof Error && (cause as { fatal?: unknown }).fatal === true) return false;
    try {
      await connection.query('ROLLBACK');
      return true;
    } catch {
      return false;
    }
  }

  /** The error an append rejects with when its insert failed (see explainAppendFailure). */
  private async explain(error: unknown, append: PendingAppend): Promise<unknown> {
    try {
      return await explainAppendFailure(error, append.streamId, append.expected, (streamId) => this.lastRevision(streamId));
    } catch {
      return error;
    }
  }

  private async lastRevision(streamId: string): Promise<number | null> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(
      `SELECT MAX(revision) AS last FROM ${EVENTS_TABLE} WHERE stream_id = ?`,
      [streamId],
    );
    const last = rows[0]?.last;
    return last == null ? null : Number(last);
  }

  async readStream(
    streamId: string,
    forwards: boolean,
    fromRevision: number | null,
    maxCount: number | null,
  ): Promise<RecordedEvent[]> {
    const condition = forwards ? 'revision >= ?' : 'revision <= ?';
    const order = forwards ? 'ASC' : 'DESC';
    const limit = maxCount === null ? '' : ' LIMIT ?';
    const parameters: (string | number)[] = [streamId, fromRevision ?? (forwards ? 0 : MAX_REVISION)];
    if (maxCount !== null) parameters.push(maxCount);
    return this.readEvents(`WHERE stream_id = ? AND ${condition} ORDER BY revision ${order}${limit}`, parameters);
  }

  /**
   * One SELECT per STREAMS_PER_READ streams. A request list is padded to the next of a
   * few sizes with its last request (same rows, read once), so that the read pool
   * prepares a handful of statements, not one per length.
   */
  async readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]> {
    const answers = requests.map((): RecordedEvent[] => []);
    const chunks: Promise<void>[] = [];
    for (let start = 0; start < requests.length; start += STREAMS_PER_READ) {
      const chunk = requests.slice(start, start + STREAMS_PER_READ);
      const size = READ_SIZES.find((s) => s >= chunk.length)!;
      const parameters: (string | number)[] = [];
      for (let i = 0; i < size; i += 1) {
        const request = chunk[Math.min(i, chunk.length - 1)]!;
        parameters.push(request.streamId, request.fromRevision);
      }
      const terms = Array.from({ length: size }, () => '(stream_id = ? AND revision >= ?)').join(' OR ');
      chunks.push(
        this.readEvents(`WHERE ${terms} ORDER BY stream_id, revision`, parameters).then((events) => {
          const byStream = new Map<string, RecordedEvent[]>();
          for (const event of events) {
            const list = byStream.get(event.streamId);
            if (list) list.push(event);
            else byStream.set(event.streamId, [event]);
          }
          for (const [i, request] of chunk.entries()) {
            answers[start + i] = (byStream.get(request.streamId) ?? []).filter((event) => event.revision >= request.fromRevision);
          }
        }),
      );
    }
    await Promise.all(chunks);
    return answers;
  }

  readAll(after: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.readEvents('WHERE position > ? ORDER BY position ASC LIMIT ?', [after, maxCount]);
  }

  /** Events of one prepared SELECT, rows read as arrays (see READ_COLUMNS). */
  private async readEvents(clauses: string, parameters: (string | number)[]): Promise<RecordedEvent[]> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(
      { sql: `SELECT ${READ_COLUMNS} FROM ${EVENTS_TABLE} ${clauses}`, rowsAsArray: true },
      parameters,
    );
    return (rows as unknown as EventColumns[]).map(recordedEventOf);
  }

  async headPosition(): Promise<Position | null> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(`SELECT MAX(position) AS head FROM ${EVENTS_TABLE}`);
    const head = rows[0]?.head;
    return head == null ? null : String(head);
  }

  async ping(): Promise<void> {
    await this.readPool.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.groupsInFlight > 0 || this.queue.length > 0 || this.pumpScheduled) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
    await Promise.all([this.readPool.end(), this.writePool.end()]);
  }
}

/** The last revision of each stream (streamKey values), one locking read; see GROUP_BY_MIN_STREAMS. */
function revisionsQuery(streams: string[]): string {
  if (streams.length < GROUP_BY_MIN_STREAMS) {
    return streams
      .map((stream, index) => `(SELECT ${index} AS i, MAX(revision) AS last FROM ${EVENTS_TABLE} WHERE stream_id = ${utf8Literal(stream)} FOR UPDATE)`)
      .join(' UNION ALL ');
  }
  return `SELECT stream_id, MAX(revision) AS last FROM ${EVENTS_TABLE} WHERE stream_id IN (${streams
    .map(utf8Literal)
    .join(',')}) GROUP BY stream_id ORDER BY NULL FOR UPDATE`;
}

/**
 * A stream id as the stream_id column compares it (utf8mb4_bin, sql-event-schema.ts):
 * code point by code point, so case counts, but trailing spaces do not (a PAD SPACE
 * collation); and as stored, in UTF-8 (a lone surrogate becomes U+FFFD, as when encoded).
 */
function streamKey(streamId: string): string {
  const stored = streamId.isWellFormed() ? streamId : streamId.toWellFormed();
  return stored.endsWith(' ') ? stored.replace(/ +$/, '') : stored;
}

/**
 * Printable ASCII but the backslash: quoted as is, with `'` doubled, it reads the same
 * whatever the sql_mode, and its length is its size in bytes.
 */
const QUOTABLE = /^[\x20-\x5b\x5d-\x7e]*$/;

/**
 * A string literal that reads the same whatever the sql_mode (NO_BACKSLASH_ESCAPES
 * included): quoted when QUOTABLE (half the bytes of hex for the server to read),
 * else hex; `introducer` names the column's character set. Its length is its size in bytes.
 */
function textLiteral(value: string, introducer: '_utf8mb4' | '_ascii'): string {
  if (!QUOTABLE.test(value)) return `${introducer} X'${Buffer.from(value, 'utf8').toString('hex')}'`;
  return `${introducer}'${value.includes("'") ? value.replaceAll("'", "''") : value}'`;
}

function utf8Literal(value: string): string {
  return textLiteral(value, '_utf8mb4');
}

function asciiLiteral(value: string): string {
  return textLiteral(value, '_ascii');
}

/**
 * mysql2's query formatting for the write pool: the SQL is sent as written (its values
 * are literals already), not scanned for placeholders.
 */
function sqlAsWritten(sql: string, values: unknown): string {
  if (Array.isArray(values) && values.length > 0) throw new Error('the write pool takes no query parameters');
  return sql;
}

/** Bytes of a row's values (as a prepared statement sends them). */
function rowBytes(row: MariaDbRow): number {
  return (
    Buffer.byteLength(row.event_id) +
    Buffer.byteLength(row.stream_id) +
    Buffer.byteLength(row.type) +
    Buffer.byteLength(row.data) +
    Buffer.byteLength(row.metadata) +
    64
  );
}

/** At least rowBytes, without encoding: at most 3 bytes of UTF-8 per UTF-16 unit. */
function rowBytesAtMost(row: MariaDbRow): number {
  return (row.event_id.length + row.stream_id.length + row.type.length + row.data.length + row.metadata.length) * 3 + 64;
}

function rowLiteral(row: MariaDbRow): string {
  if (!Number.isSafeInteger(row.revision)) throw new RangeError(`revision out of range: ${row.revision}`);
  return `(${asciiLiteral(row.event_id)},${utf8Literal(row.stream_id)},${row.revision},${utf8Literal(row.type)},${utf8Literal(
    row.data,
  )},${utf8Literal(row.metadata)},'${row.recorded_at}')`;
}

/** DATETIME(3) literal of an instant, in UTC (what mysql2 writes with timezone 'Z'). */
function mariaDbDateTime(instant: Date): string {
  return instant.toISOString().replace('T', ' ').replace('Z', '');
}
