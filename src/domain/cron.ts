/**
 * Cron and time rules of spec/domain.md ("Time and cron semantics").
 *
 * Pure: no clock reads. Every instant comes in as an argument.
 *
 * How due instants are found: cron-parser walks the expression over *wall
 * times* (it runs in UTC, where a wall time and an instant coincide, so it
 * never meets a DST transition), and this module maps each wall time to the
 * instants of the schedule's zone with Intl:
 *
 * - a wall time that exists once  -> that instant;
 * - a wall time that occurs twice (fall back) -> the first instant only, or
 *   both when the expression is an *interval* expression (see below);
 * - a wall time that does not exist (spring forward) -> shifted forward by the
 *   gap (wall time read with the offset before the transition), or nothing
 *   when the expression is an interval expression.
 *
 * An expression is an interval expression when its second, minute or hour
 * field holds a wildcard (`*`, `?`) or a step (`0-59/15`, `5/10`, star-slash-n):
 * it fires at every real instant whose wall time matches, like the "wildcard
 * jobs" of Vixie cron. Other expressions (fixed times such as `30 1 * * *`,
 * `0 1,13 * * *`, `0 9-17 * * *`) fire once per matching wall time, and two
 * wall times that land on one instant fire once.
 *
 * cron-parser run with `tz` directly agrees for fixed times and for minute
 * wildcards/steps across 1-hour transitions (tested against it), but: it skips
 * a gap time for the whole day in 30-minute-DST zones (Australia/Lord_Howe)
 * and hits its loop limit iterating an hourly expression across their
 * fall-back; it runs an hour step (`15 0-23/2 * * *`) at a shifted time in the gap
 * and only once in a repeated hour; and it runs a fixed hour with wildcard
 * minutes (`* 1 * * *`) only in the first pass of a repeated hour. Mapping
 * wall times here gives one rule for every zone.
 *
 * Assumption: a zone does not change its offset twice within 28 hours.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { validationError } from './decider.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

// ---------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------

interface FieldSpec {
  name: string;
  min: number;
  max: number;
}

/** The six fields as cron-parser reads them (seconds first). */
const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
];

interface CompiledCron {
  /** The six fields, seconds first. */
  fields: readonly string[];
  /** Fires at every real instant (second, minute or hour is a wildcard or a step). */
  interval: boolean;
  /** cron-parser evaluating wall times (tz UTC); reset before each use. */
  walker: CronExpression;
}

type CompileResult = { ok: true; cron: CompiledCron } | { ok: false; reason: string };

/** Parsed expressions by source text. A memo only: results never depend on it. */
const compiledCache = new Map<string, CompileResult>();
const COMPILED_CACHE_LIMIT = 5000;

function splitFields(expression: string): string[] | string {
  if (typeof expression !== 'string') return 'cron expression must be a string';
  const trimmed = expression.trim();
  if (trimmed === '') return 'cron expression is empty';
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return `cron expression must have 5 fields (minute hour day-of-month month day-of-week) or 6 fields (second first), got ${parts.length}`;
  }
  return parts.length === 5 ? ['0', ...parts] : parts;
}

/** Checks cron-parser lets through: hashed values and steps wider than the field. */
function checkField(text: string, spec: FieldSpec): string | null {
  for (const item of text.split(',')) {
    if (/^H/i.test(item)) {
      return `${spec.name} field: H (hashed random) values are not supported; use jitter_seconds to spread runs`;
    }
    const slash = item.indexOf('/');
    if (slash >= 0) {
      const step = item.slice(slash + 1);
      if (!/^\d+$/.test(step)) return `${spec.name} field: step "${step}" is not a whole number`;
      const n = Number(step);
      const span = spec.max - spec.min;
      if (n < 1 || n > span) return `${spec.name} field: step ${n} is out of range 1-${span}`;
    }
  }
  return null;
}

function isIntervalField(text: string): boolean {
  return /[*?/]/.test(text);
}

function compile(expression: string): CompileResult {
  const cached = compiledCache.get(expression);
  if (cached) return cached;
  const result = compileUncached(expression);
  if (compiledCache.size >= COMPILED_CACHE_LIMIT) {
    const oldest = compiledCache.keys().next();
    if (!oldest.done) compiledCache.delete(oldest.value);
  }
  compiledCache.set(expression, result);
  return result;
}

function compileUncached(expression: string): CompileResult {
  const fields = splitFields(expression);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  for (let i = 0; i < FIELDS.length; i++) {
    const problem = checkField(fields[i] as string, FIELDS[i] as FieldSpec);
    if (problem) return { ok: false, reason: problem };
  }
  let walker: CronExpression;
  try {
    // A fixed currentDate: cron-parser would otherwise read the clock.
    walker = CronExpressionParser.parse(fields.join(' '), { currentDate: new Date(0), tz: 'UTC' });
  } catch (err) {
    return { ok: false, reason: `invalid cron expression: ${errorMessage(err)}` };
  }
  // An expression that parses but never matches (cron-parser checks few of these).
  try {
    walker.reset(new Date(Date.UTC(2000, 0, 1)));
    walker.next();
  } catch (err) {
    return { ok: false, reason: `cron expression never fires: ${errorMessage(err)}` };
  }
  const interval = isIntervalField(fields[0] as string) || isIntervalField(fields[1] as string) || isIntervalField(fields[2] as string);
  return { ok: true, cron: { fields, interval, walker } };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Null when `expression` is a valid 5-field (seconds = 0) or 6-field (seconds
 * first) cron expression, otherwise a reason a person can act on.
 */
export function validateCron(expression: string): string | null {
  const result = compile(expression);
  return result.ok ? null : result.reason;
}

/** The expression as six fields, seconds first (5-field expressions get `0`). */
export function cronFields(expression: string): string[] {
  const result = compile(expression);
  if (!result.ok) throw validationError('/cron_expression', result.reason);
  return [...result.cron.fields];
}

/**
 * True when the expression fires at every real instant that matches (its
 * second, minute or hour field is a wildcard or a step), false when it names
 * fixed wall times that are shifted or de-duplicated at DST transitions.
 */
export function isIntervalCron(expression: string): boolean {
  const result = compile(expression);
  if (!result.ok) throw validationError('/cron_expression', result.reason);
  return result.cron.interval;
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

const formatterCache = new Map<string, Intl.DateTimeFormat>();
let supportedZones: Set<string> | null = null;

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatterCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatterCache.set(zone, f);
  }
  return f;
}

const validZoneCache = new Map<string, boolean>();

/**
 * True for IANA zone names ('Europe/London', 'UTC', 'Asia/Kolkata',
 * 'Etc/GMT+2'); false for offsets ('+02:00', 'GMT+2'), wrongly cased names
 * ('europe/london') and anything Intl does not know.
 */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string') return false;
  const cached = validZoneCache.get(zone);
  if (cached !== undefined) return cached;
  const valid = checkTimeZone(zone);
  if (validZoneCache.size < 2000) validZoneCache.set(zone, valid);
  return valid;
}

function checkTimeZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  if (zone.length === 0 || zone.length > 64) return false;
  // IANA names are Area/Location segments that start with a capital letter.
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/.test(zone)) return false;
  if (/^(UTC|GMT|UT)[+-]/.test(zone)) return false;
  supportedZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (supportedZones.has(zone)) return true;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  // Intl accepts names case-insensitively; only the canonical spelling or a
  // real alias (Asia/Kolkata -> Asia/Calcutta) counts, not a re-cased name.
  return resolved === zone || resolved.toLowerCase() !== zone.toLowerCase();
}

/** The wall time of `ms` in `zone`, as milliseconds of a UTC date with the same fields. */
function wallMs(ms: number, zone: string): number {
  const parts = formatterFor(zone).formatToParts(new Date(ms));
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
      default:
        break;
    }
  }
  const d = new Date(0);
  d.setUTCFullYear(bc ? 1 - year : year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

const offsetFormatterCache = new Map<string, Intl.DateTimeFormat>();

function offsetFormatterFor(zone: string): Intl.DateTimeFormat {
  let f = offsetFormatterCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormatterCache.set(zone, f);
  }
  return f;
}

const OFFSET_PATTERN = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** The zone's UTC offset at instant `ms`, in milliseconds ("GMT+05:30" read from Intl). */
function offsetAt(ms: number, zone: string): number {
  const text = offsetFormatterFor(zone).format(new Date(ms));
  const m = OFFSET_PATTERN.exec(text);
  if (!m) return wallMs(Math.floor(ms / SECOND) * SECOND, zone) - Math.floor(ms / SECOND) * SECOND;
  if (m[1] === undefined) return 0;
  const abs = Number(m[2]) * HOUR + Number(m[3]) * MINUTE + Number(m[4] ?? 0) * SECOND;
  return m[1] === '-' ? -abs : abs;
}

/**
 * Per zone, one span of instants known to share one offset. A memo only.
 * Assumes, as the rest of this module does, that a zone never changes its
 * offset twice within 28 hours: then equal offsets at both ends of a span of
 * at most 28 hours mean one offset throughout.
 */
const constantSpans = new Map<string, { lo: number; hi: number; offset: number }>();
const MAX_PROBE_SPAN = 28 * HOUR;

/** The offset over [from, to] when it is one throughout, else null. */
function constantOffset(zone: string, from: number, to: number): number | null {
  const known = constantSpans.get(zone);
  if (known && known.lo <= from && to <= known.hi) return known.offset;
  if (to - from > MAX_PROBE_SPAN) return null;
  const a = offsetAt(from, zone);
  if (offsetAt(to, zone) !== a) return null;
  if (known && known.offset === a && from <= known.hi && known.lo <= to) {
    known.lo = Math.min(known.lo, from);
    known.hi = Math.max(known.hi, to);
  } else {
    constantSpans.set(zone, { lo: from, hi: to, offset: a });
  }
  return a;
}

type WallMapping =
  | { kind: 'one'; at: number }
  | { kind: 'twice'; first: number; second: number }
  | { kind: 'gap'; shifted: number };

/** The instants whose wall time in `zone` is `wall`. */
function instantsOfWall(wall: number, zone: string): WallMapping {
  // Offsets lie within -12h..+14h, so the instants of `wall` lie within
  // [wall - 14h, wall + 12h]; probe the offset just outside that window.
  const from = wall - 15 * HOUR;
  const to = wall + 13 * HOUR;
  const constant = constantOffset(zone, from, to);
  if (constant !== null) return { kind: 'one', at: wall - constant };
  const before = offsetAt(from, zone);
  const after = offsetAt(to, zone);
  const valid: number[] = [];
  for (const o of before === after ? [before] : [before, after]) {
    const t = wall - o;
    if (offsetAt(t, zone) === o) valid.push(t);
  }
  valid.sort((a, b) => a - b);
  const [first, second] = valid;
  if (first !== undefined && second !== undefined && second !== first) return { kind: 'twice', first, second };
  if (first !== undefined) return { kind: 'one', at: first };
  // Not a wall time of this zone: read it with the offset before the gap
  // (the smaller one), which shifts it forward by the gap.
  return { kind: 'gap', shifted: wall - Math.min(before, after) };
}

// ---------------------------------------------------------------------------
// Due instants
// ---------------------------------------------------------------------------

/** Safety bound on wall times examined per call (a 1-day gap of a per-second expression is 86,400). */
const MAX_WALLS_PER_CALL = 200_000;

/**
 * The next `count` due instants strictly after `after`, with the expression
 * evaluated in `timezone` (DST rules in the module comment). Throws a
 * ValidationError on an invalid expression or zone.
 */
export function nextDueInstants(expression: string, timezone: string, after: Date, count: number): Date[] {
  const compiled = compile(expression);
  if (!compiled.ok) throw validationError('/cron_expression', compiled.reason);
  if (!isValidTimeZone(timezone)) throw validationError('/timezone', `unknown time zone "${timezone}"`);
  const afterMs = after.getTime();
  if (!Number.isFinite(afterMs)) throw new RangeError('nextDueInstants: invalid `after` date');
  if (!(count > 0)) return [];

  const { walker, interval } = compiled.cron;
  // The earliest wall time an instant after `after` can have: normally the
  // wall time of `after`, but an hour earlier (or so) when the clocks go back
  // within the next few hours, or when they went forward in the last few: a wall
  // time in that gap fires shifted by it, so it can still lie after `after`.
  const startOffset =
    constantOffset(timezone, afterMs - 3 * HOUR, afterMs + 3 * HOUR) ??
    Math.min(offsetAt(afterMs - 3 * HOUR, timezone), offsetAt(afterMs, timezone), offsetAt(afterMs + 3 * HOUR, timezone));
  const startWall = afterMs + startOffset;
  walker.reset(new Date(Math.floor(startWall / SECOND) * SECOND - SECOND));

  const out: Date[] = [];
  let last = afterMs;
  const emit = (t: number) => {
    if (t > last) {
      out.push(new Date(t));
      last = t;
    }
  };
  // Second passes of repeated wall times (interval expressions), in order; they
  // come after every first pass of the repeated hour.
  const pending: number[] = [];

  for (let examined = 0; out.length < count && examined < MAX_WALLS_PER_CALL; examined++) {
    let wall: number;
    try {
      wall = walker.next().getTime();
    } catch {
      break; // cron-parser found no further match
    }
    const m = instantsOfWall(wall, timezone);
    // No later wall time maps to an instant before this bound.
    const bound = m.kind === 'one' ? m.at : m.kind === 'twice' ? m.first : m.shifted;
    while (pending.length > 0 && (pending[0] as number) <= bound && out.length < count) emit(pending.shift() as number);
    if (out.length >= count) break;
    if (m.kind === 'one') emit(m.at);
    else if (m.kind === 'twice') {
      emit(m.first);
      if (interval) pending.push(m.second);
    } else if (!interval) emit(m.shifted);
  }
  return out.slice(0, count);
}

/** The next due instant strictly after `after`, or null when there is none. */
export function nextDueInstant(expression: string, timezone: string, after: Date): Date | null {
  return nextDueInstants(expression, timezone, after, 1)[0] ?? null;
}

/** Wall times remembered before the memo starts again (bounds memory). */
const MAX_WALL_TIMES = 4096;
const wallTimes = new Map<string, string>();

/**
 * Local wall time of `instant` in `timezone` with the zone's offset at that
 * instant: '2026-03-29T02:30:00+01:00'.
 */
export function localWallTime(instant: Date, timezone: string): string {
  const ms = Math.floor(instant.getTime() / SECOND) * SECOND;
  // Answers show the same few upcoming runs again and again; Intl formatting is ~25 us each.
  const key = `${timezone}\u0000${ms}`;
  const known = wallTimes.get(key);
  if (known !== undefined) return known;
  const text = wallTimeText(ms, timezone);
  if (wallTimes.size >= MAX_WALL_TIMES) wallTimes.clear();
  wallTimes.set(key, text);
  return text;
}

function wallTimeText(ms: number, timezone: string): string {
  const offset = offsetAt(ms, timezone);
  const offsetSeconds = Math.round(offset / SECOND);
  const w = new Date(ms + offset);
  const year = w.getUTCFullYear();
  const yyyy = year >= 0 && year <= 9999 ? pad(year, 4) : (year < 0 ? '-' : '+') + pad(Math.abs(year), 6);
  const date = `${yyyy}-${pad(w.getUTCMonth() + 1, 2)}-${pad(w.getUTCDate(), 2)}`;
  const time = `${pad(w.getUTCHours(), 2)}:${pad(w.getUTCMinutes(), 2)}:${pad(w.getUTCSeconds(), 2)}`;
  return `${date}T${time}${formatOffset(offsetSeconds)}`;
}

function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  return `${sign}${pad(h, 2)}:${pad(m, 2)}${s ? `:${pad(s, 2)}` : ''}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// ---------------------------------------------------------------------------
// Jitter
// ---------------------------------------------------------------------------

const utf8 = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A deterministic delay in whole seconds within [0, jitterSeconds), derived
 * from the schedule id and the due instant; 0 when jitter is 0.
 */
export function jitterOffsetSeconds(scheduleId: string, dueInstant: Date, jitterSeconds: number): number {
  const range = Math.floor(jitterSeconds);
  if (!(range > 0)) return 0;
  return fnv1a32(`${scheduleId}|${dueInstant.toISOString()}`) % range;
}

// ---------------------------------------------------------------------------
// Human description
// ---------------------------------------------------------------------------

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTH_ALIASES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_ALIASES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function isAny(text: string): boolean {
  return text === '*' || text === '?' || text === '*/1';
}

function isNumber(text: string): boolean {
  return /^\d+$/.test(text);
}

function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function nameOf(value: string, kind: 'month' | 'dow' | 'plain'): string {
  const upper = value.toUpperCase();
  if (kind === 'month') {
    const alias = MONTH_ALIASES.indexOf(upper);
    if (alias >= 0) return MONTH_NAMES[alias] as string;
    if (isNumber(value)) return MONTH_NAMES[Number(value) - 1] ?? value;
  }
  if (kind === 'dow') {
    const alias = DAY_ALIASES.indexOf(upper);
    if (alias >= 0) return DAY_NAMES[alias] as string;
    if (isNumber(value)) return DAY_NAMES[Number(value)] ?? value;
  }
  return value;
}

/** One comma item of a field, e.g. "every 15 minutes from 0 through 30". */
function describeItem(item: string, unit: string, kind: 'month' | 'dow' | 'plain'): string {
  const [range = '', step] = item.split('/');
  const rangeText = (r: string): string => {
    const [a = '', b] = r.split('-');
    return b === undefined ? nameOf(a, kind) : `${nameOf(a, kind)} through ${nameOf(b, kind)}`;
  };
  if (step !== undefined) {
    const every = `every ${step} ${unit}s`;
    if (range === '*' || range === '?') return every;
    if (range.includes('-')) return `${every}, ${rangeText(range)}`;
    return `${every} starting at ${unit} ${nameOf(range, kind)}`;
  }
  if (kind === 'dow') {
    const nth = /^(\d)#(\d)$/.exec(item);
    if (nth) return `the ${ordinal(Number(nth[2]))} ${nameOf(nth[1] as string, 'dow')} of the month`;
    const last = /^(\d)L$/.exec(item);
    if (last) return `the last ${nameOf(last[1] as string, 'dow')} of the month`;
  }
  return rangeText(item);
}

function describeList(text: string, unit: string, kind: 'month' | 'dow' | 'plain'): string {
  return joinList(text.split(',').map((item) => describeItem(item, unit, kind)));
}

function clock(hour: string, minute: string, second: string): string {
  const base = `${pad(Number(hour), 2)}:${pad(Number(minute), 2)}`;
  return second === '0' ? base : `${base}:${pad(Number(second), 2)}`;
}

/** "every minute", "every 15 minutes, 0 through 30", "at minutes 5 and 35". */
function phrase(text: string, unit: string): string {
  if (isAny(text)) return `every ${unit}`;
  const items = text.split(',');
  if (items.length === 1 && text.includes('/')) return describeItem(text, unit, 'plain');
  const plural = items.length > 1 || text.includes('-') ? 's' : '';
  return `at ${unit}${plural} ${describeList(text, unit, 'plain')}`;
}

function describeTime(sec: string, min: string, hour: string): string {
  const hours = hour.split(',');
  // At 01:30; At 06:00 and 18:00
  if (isNumber(sec) && isNumber(min) && hours.every(isNumber) && hours.length <= 6) {
    return `At ${joinList(hours.map((h) => clock(h, min, sec)))}`;
  }
  const secPhrase = sec === '0' ? null : phrase(sec, 'second');
  let minPhrase: string | null;
  if (isAny(min) && secPhrase !== null) minPhrase = null;
  else if (isNumber(min) && isAny(hour)) minPhrase = min === '0' && secPhrase === null ? 'every hour' : `at ${min} minutes past the hour`;
  else minPhrase = phrase(min, 'minute');
  let hourPhrase: string | null;
  const range = /^(\d+)-(\d+)$/.exec(hour);
  if (isAny(hour)) hourPhrase = null;
  else if (isNumber(hour)) hourPhrase = `between ${clock(hour, '0', '0')} and ${clock(hour, '59', '0')}`;
  else if (range) hourPhrase = `between ${clock(range[1] as string, '0', '0')} and ${clock(range[2] as string, '59', '0')}`;
  else if (hours.every(isNumber)) hourPhrase = `during hours ${joinList(hours)}`;
  else hourPhrase = phrase(hour, 'hour');
  const text = [secPhrase, minPhrase, hourPhrase].filter((p): p is string => p !== null).join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A short English description of a valid expression, e.g. "At 01:30, on
 * Monday through Friday". (cronstrue could take this over: `toString(expr)`.)
 */
export function describeCron(expression: string): string {
  const compiled = compile(expression);
  if (!compiled.ok) throw validationError('/cron_expression', compiled.reason);
  const [sec = '0', min = '*', hour = '*', dom = '*', month = '*', dow = '*'] = compiled.cron.fields;
  const parts = [describeTime(sec, min, hour)];
  const domItems = dom.split(',');
  const domText =
    dom === 'L'
      ? 'on the last day of the month'
      : domItems.length === 1 && dom.includes('/')
        ? describeItem(dom, 'day', 'plain')
        : `on day${domItems.length > 1 || dom.includes('-') ? 's' : ''} ${describeList(dom, 'day', 'plain')} of the month`;
  const dowText = `on ${describeList(dow, 'day', 'dow')}`;
  if (!isAny(dom) && !isAny(dow)) parts.push(`${domText} or ${dowText}`);
  else if (!isAny(dom)) parts.push(domText);
  else if (!isAny(dow)) parts.push(dowText);
  if (!isAny(month)) parts.push(`in ${describeList(month, 'month', 'month')}`);
  return parts.join(', ');
}
