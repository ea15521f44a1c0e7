/**
 * Field checks the deciders share. Each check adds a FieldProblem (JSON
 * pointer + message) to a list, so one refusal can name every bad field.
 * Values are `unknown`: the types say what a command should hold, these checks
 * make sure of it whatever the caller sent.
 */
import { DomainError, type FieldProblem } from './decider.js';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from './schedule-fields.js';

/** What every command carries: when it happens (ISO-8601) and who asks. */
export interface CommandMeta {
  at: string;
  actor: string;
}

/** Signed 32-bit integer range of the read models' `int` columns. */
export const INT32_RANGE = [-2147483648, 2147483647] as const;

/** Key form of a name for uniqueness (case-insensitive, surrounding blanks ignored). */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase();
}

export class Problems {
  readonly list: FieldProblem[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Throws one ValidationError naming every problem, when there is any. */
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const summary = this.list.map((p) => `${p.path.slice(1) || what}: ${p.message}`).join('; ');
    throw new DomainError('ValidationError', `invalid ${what}: ${summary}`, [...this.list]);
  }
}

/** Characters as a user counts them (code points, as the API's JSON schemas do), not UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** A name: a string of 1..255 characters once trimmed. */
export function checkName(problems: Problems, path: string, value: unknown): void {
  if (typeof value !== 'string') return problems.add(path, 'must be a string');
  const trimmed = value.trim();
  if (trimmed.length === 0) return problems.add(path, 'must not be empty');
  if (characterCount(trimmed) > NAME_MAX_LENGTH) problems.add(path, `must be at most ${NAME_MAX_LENGTH} characters`);
}

/** A required string, non-empty once trimmed, of at most `max` characters. */
export function checkText(problems: Problems, path: string, value: unknown, max: number): void {
  if (typeof value !== 'string') return problems.add(path, 'must be a string');
  if (value.trim().length === 0) return problems.add(path, 'must not be empty');
  if (characterCount(value) > max) problems.add(path, `must be at most ${max} characters`);
}

/** Null, or a string of at most `max` characters. */
export function checkOptionalText(problems: Problems, path: string, value: unknown, max: number): void {
  if (value === null) return;
  if (typeof value !== 'string') return problems.add(path, 'must be a string or null');
  if (characterCount(value) > max) problems.add(path, `must be at most ${max} characters`);
}

export function checkDescription(problems: Problems, path: string, value: unknown): void {
  checkOptionalText(problems, path, value, DESCRIPTION_MAX_LENGTH);
}

/** Null, or a non-empty id string. */
export function checkOptionalId(problems: Problems, path: string, value: unknown): void {
  if (value === null) return;
  checkText(problems, path, value, 64);
}

export function checkInteger(problems: Problems, path: string, value: unknown, range: readonly [number, number]): void {
  const [min, max] = range;
  if (typeof value !== 'number' || !Number.isInteger(value)) return problems.add(path, `must be an integer between ${min} and ${max}`);
  if (value < min || value > max) problems.add(path, `must be between ${min} and ${max}`);
}

export function checkBoolean(problems: Problems, path: string, value: unknown): void {
  if (typeof value !== 'boolean') problems.add(path, 'must be true or false');
}

export function checkOneOf(problems: Problems, path: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) problems.add(path, `must be one of ${allowed.join(', ')}`);
}

/** The entries of `source` whose key is in `keys` and whose value is not undefined. */
export function pickDefined<T extends object>(source: Partial<T>, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The entries of `next` that differ from `current` (by ===). */
export function changedEntries<T extends object>(current: T, next: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) {
    if (next[key] !== current[key]) out[key] = next[key];
  }
  return out;
}
