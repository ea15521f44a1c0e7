/**
 * Checked reading of appliance answers: the types of the gateway are only true
 * if every field was looked at. A mismatch throws ShapeError naming the field
 * path (never its value, which could be anything the appliance echoed).
 */

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(readonly path: string, expected: string) {
    super(`${path}: expected ${expected}`);
  }
}

export type JsonRecord = Record<string, unknown>;

export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ShapeError('$', 'a JSON document');
  }
}

export function asRecord(value: unknown, path: string): JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(path, 'an object');
  return value as JsonRecord;
}

export function stringField(record: JsonRecord, key: string, path: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new ShapeError(`${path}.${key}`, 'a string');
  return value;
}

/** Identifiers: an empty string would name nothing. */
export function idField(record: JsonRecord, key: string, path: string): string {
  const value = record[key];
  if (typeof value !== 'string' || value.trim() === '') throw new ShapeError(`${path}.${key}`, 'a non-empty string');
  return value;
}

/** Absent or null reads as null. */
export function optionalStringField(record: JsonRecord, key: string, path: string): string | null {
  const value = record[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ShapeError(`${path}.${key}`, 'a string');
  return value;
}

export function numberField(record: JsonRecord, key: string, path: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ShapeError(`${path}.${key}`, 'a number');
  return value;
}

/** Absent or null reads as the fallback. */
export function optionalNumberField(record: JsonRecord, key: string, path: string, fallback: number): number {
  const value = record[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ShapeError(`${path}.${key}`, 'a number');
  return value;
}

export function booleanField(record: JsonRecord, key: string, path: string): boolean {
  const value = record[key];
  if (typeof value !== 'boolean') throw new ShapeError(`${path}.${key}`, 'true or false');
  return value;
}

/** Absent or null reads as empty: Go services encode an empty slice as null. */
export function listField(record: JsonRecord, key: string, path: string): unknown[] {
  const value = record[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ShapeError(`${path}.${key}`, 'a list');
  return value as unknown[];
}
