/**
 * Read-model values as the API shows them: both databases hand back their own
 * types (Date or ISO text, 0/1, decimal strings); these make them one shape.
 */

export function isoOrNull(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return new Date(value).toISOString();
  const text = String(value);
  const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isNaN(parsed) ? text : new Date(parsed).toISOString();
}

export function iso(value: unknown): string {
  return isoOrNull(value) ?? '';
}

export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

export function intOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

export function int(value: unknown): number {
  return intOrNull(value) ?? 0;
}

export function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export type Row = Record<string, unknown>;
