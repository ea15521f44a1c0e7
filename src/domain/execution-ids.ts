/**
 * Deterministic execution ids (spec/domain.md, Execution; design.md, "Rules
 * that hold everywhere"): the same schedule and due instant, or the same chain
 * child and parent execution, always give the same id, so whatever runs twice
 * (two tickers, a replayed process manager) meets the existing stream.
 * Ids fit the read models' varchar(64) for schedule ids of up to 46 characters
 * (the service's ids have 21).
 */
import { createHash } from 'node:crypto';
import { validationError } from './decider.js';

function instantOf(value: Date | string, path: string): Date {
  const d = value instanceof Date ? value : new Date(value);
  if (!Number.isFinite(d.getTime())) throw validationError(path, `must be an ISO-8601 instant, got ${JSON.stringify(value)}`);
  return d;
}

/** '2026-05-01T10:00:00.000Z' -> '20260501T100000Z' (milliseconds kept when not zero: '20260501T100000250Z'). */
export function compactInstant(value: Date | string): string {
  const iso = instantOf(value, '/due_at').toISOString();
  if (iso === lastCompacted.iso) return lastCompacted.compact;
  const [date = '', time = ''] = iso.slice(0, -1).split('T');
  const [hms = '', millis = '000'] = time.split('.');
  const compact = `${date.replaceAll('-', '')}T${hms.replaceAll(':', '')}${millis === '000' ? '' : millis}Z`;
  lastCompacted = { iso, compact };
  return compact;
}

/** The last instant compacted: a herd of schedules due in one second asks for the same one thousands of times. */
let lastCompacted = { iso: '', compact: '' };

/** The execution id of a schedule's due instant: `${scheduleId}-20260501T100000Z`. */
export function executionIdFor(scheduleId: string, dueInstant: Date | string): string {
  return `${scheduleId}-${compactInstant(dueInstant)}`;
}

/**
 * The execution id of a chain child following one parent execution:
 * `${childScheduleId}-after-${16 hex of sha256(parent execution id)}`. Hashed
 * so a chain of chains does not grow the id.
 */
export function chainExecutionIdFor(childScheduleId: string, parentExecutionId: string): string {
  const digest = createHash('sha256').update(parentExecutionId, 'utf8').digest('hex').slice(0, 16);
  return `${childScheduleId}-after-${digest}`;
}
