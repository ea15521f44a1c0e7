/**
 * Export rows as text: CSV (RFC 4180, a header row, JSON documents as their
 * JSON text in one field) or JSON lines (one object per line, JSON documents
 * embedded as JSON).
 */
import { csvRecord } from './csv-format.js';
import type { ExportColumn, ExportRow, ExportValue } from './export-rows.js';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What comes before the first row: the CSV header, nothing for JSON lines. */
export function exportHeader(format: ExportFormat, columns: readonly ExportColumn[]): string {
  return format === 'csv' ? csvRecord(columns.map((column) => column.name)) : '';
}

function embeddedJson(value: ExportValue): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // not JSON after all: kept as the text it is
  }
}

export function exportLine(format: ExportFormat, columns: readonly ExportColumn[], row: ExportRow): string {
  if (format === 'csv') return csvRecord(columns.map((column) => row[column.name] ?? null));
  const object: Record<string, unknown> = {};
  for (const column of columns) object[column.name] = column.kind === 'json' ? embeddedJson(row[column.name] ?? null) : (row[column.name] ?? null);
  return `${JSON.stringify(object)}\n`;
}
