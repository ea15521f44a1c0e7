/**
 * The time range of a report or an export: [from, to), `from` inclusive and `to`
 * exclusive, so consecutive ranges never count a row twice.
 */

export interface ReportRange {
  from: Date;
  to: Date;
}

/** ISO-8601 date-time with a zone (Z or ±hh:mm); a time without a zone would be read in the machine's zone. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** The instant a text names, or null when it is not an ISO-8601 date-time with a zone (or names no real date). */
export function parseInstant(text: string): Date | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match;
  const ms = Date.parse(text.trim());
  if (Number.isNaN(ms)) return null;
  // Date.parse rolls 2026-02-30 over to March: refuse a calendar date that does not exist.
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return null;
  return new Date(ms);
}

export const DEFAULT_REPORT_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The range a request asks for; a missing `to` is now, a missing `from` is
 * `DEFAULT_REPORT_DAYS` before `to`. The caller refuses a range whose `from` is not before `to`.
 */
export function rangeOf(given: { from?: Date | undefined; to?: Date | undefined }, now: Date): ReportRange {
  const to = given.to ?? now;
  const from = given.from ?? new Date(to.getTime() - DEFAULT_REPORT_DAYS * DAY_MS);
  return { from, to };
}
