import { randomUUID } from 'node:crypto';
import {
  WrongExpectedVersionError,
  type AppendResult,
  type EventMetadata,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type RecordedEvent,
  type StreamReadRequest,
} from './event-store.js';
import { EVENT_ID_UNIQUE_INDEX, type NewEventRow, type SqlDialect } from './sql-event-schema.js';

/**
 * What the SQL event store needs from a dialect: the SQLite log (better-sqlite3, cached
 * prepared statements, see sqlite-event-log.ts) and the MariaDB log (mysql2, group
 * commit, see mariadb-event-log.ts). Subscriptions, argument checks and row decoding
 * are shared (sql-event-store.ts).
 */
export interface SqlEventLog {
  readonly dialect: SqlDialect;
  /**
   * Appends all events atomically after checking the expected revision. Rejects with
   * WrongExpectedVersionError (with the actual revision), or an explained error for a
   * repeated event id. `events` is non-empty and `expected` valid.
   */
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * `fromRevision` inclusive; `maxCount` a positive integer or null (no limit).
   * Each log decodes its own rows: SQLite reads them as arrays, cheaper than objects.
   */
  readStream(streamId: string, forwards: boolean, fromRevision: number | null, maxCount: number | null): Promise<RecordedEvent[]>;
  /** EventStore.readStreams: several streams forwards, each from its revision, one answer per request. */
  readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]>;
  /** Events with position > `after` (0: from the start), in position order. */
  readAll(after: number, maxCount: number): Promise<RecordedEvent[]>;
  headPosition(): Promise<Position | null>;
  /**
   * Sets the one listener told of each CommittedRun of this log's appends, after the
   * commit and before the appends resolve. Must not throw.
   */
  watchCommits(listener: (run: CommittedRun) => void): void;
  ping(): Promise<void>;
  /** Lets queued appends finish, then closes the connections. */
  close(): Promise<void>;
}

/** EventStoreDB's rules; returns the revision of the first event to write. */
export function firstRevisionToWrite(streamId: string, expected: ExpectedRevision, current: number | null): number {
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

/** Rows to insert; `recordedAt` is in the form the dialect's driver writes. */
export function toRows<RecordedAt extends string | Date>(
  streamId: string,
  firstRevision: number,
  events: NewEvent[],
  recordedAt: RecordedAt,
): (NewEventRow & { recorded_at: RecordedAt })[] {
  return events.map((event, index) => ({
    event_id: event.id ?? randomUUID(),
    stream_id: streamId,
    revision: firstRevision + index,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
    recorded_at: recordedAt,
  }));
}

/**
 * A row read as an array in EVENT_COLUMNS order, recorded_at as its ISO string: the
 * drivers build arrays for less than keyed objects, which would only be copied again.
 */
export type EventColumns = [
  position: number | string,
  event_id: string,
  stream_id: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recorded_at: string,
];

/**
 * Events of this process's appends that committed together, as a read returns them, with
 * the proof that no other event lies among them: `after` is the log's head read while the
 * append lock was held (MariaDB: the lock row; SQLite: the IMMEDIATE transaction), before
 * the inserts, and positions are assigned and committed in lock order, so the events with
 * positions in (after, last position] are exactly `rows`. A subscription whose cursor lies
 * in that range may take the rest of them without a read (sql-event-store.ts).
 */
export interface CommittedRun {
  after: number;
  /** In position order, positions as numbers. */
  rows: EventColumns[];
}

/** Longest stream id and type both schemas declare (VARCHAR(255), in characters). */
const MAX_NAME_CHARS = 255;
/** Event ids MariaDB stores as given (CHAR(36) ascii; CHAR drops trailing spaces when read). */
const STORED_AS_GIVEN_EVENT_ID = /^(?:[\x20-\x7e]{0,35}[\x21-\x7e])?$/;

/**
 * A committed row as a read returns it, or null when the database may store it otherwise
 * than given (a lone surrogate becomes U+FFFD, an id or name is cut or refused by its
 * column): such a run is not kept, its events are read back. `recordedAt` is the ISO form.
 */
export function committedColumns(position: number, row: NewEventRow, recordedAt: string): EventColumns | null {
  if (
    !STORED_AS_GIVEN_EVENT_ID.test(row.event_id) ||
    row.stream_id.length > MAX_NAME_CHARS ||
    row.type.length > MAX_NAME_CHARS ||
    !row.stream_id.isWellFormed() ||
    !row.type.isWellFormed()
  ) {
    return null;
  }
  return [position, row.event_id, row.stream_id, row.revision, row.type, row.data, row.metadata, recordedAt];
}

export function recordedEventOf(columns: EventColumns): RecordedEvent {
  return {
    id: columns[1],
    streamId: columns[2],
    revision: columns[3],
    position: String(columns[0]),
    type: columns[4],
    data: JSON.parse(columns[5]) as Record<string, unknown>,
    metadata: JSON.parse(columns[6]) as EventMetadata,
    recordedAt: columns[7],
  };
}

/**
 * Unique-constraint failures of an append, explained: a repeated event id is an error
 * of its own; a (stream, revision) collision is a lost race, reported as
 * WrongExpectedVersionError with the stream's revision now. Other errors pass unchanged.
 */
export async function explainAppendFailure(
  error: unknown,
  streamId: string,
  expected: ExpectedRevision,
  lastRevision: (streamId: string) => number | null | Promise<number | null>,
): Promise<unknown> {
  if (!isUniqueViolation(error)) return error;
  if (isEventIdViolation(error)) {
    return new Error(`append to ${streamId}: an event id is already recorded`, { cause: error });
  }
  return new WrongExpectedVersionError(streamId, expected, (await lastRevision(streamId)) ?? 'no_stream');
}

/**
 * Which unique index was hit. Only the driver's own text is looked at.
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
export function isUniqueViolation(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error) || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
