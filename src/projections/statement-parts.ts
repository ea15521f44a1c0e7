/** Small pieces the SQL row stores share when they write their statements. */
import type { Row } from './row-codec.js';

/** Rows grouped by their column list, in first-seen order: one statement shape per group. */
export function groupByColumns(rows: readonly Row[]): Array<{ columns: string[]; rows: Row[] }> {
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const row of rows) {
    const columns = Object.keys(row);
    const signature = columns.join(',');
    const group = groups.get(signature);
    if (group) group.rows.push(row);
    else groups.set(signature, { columns, rows: [row] });
  }
  return [...groups.values()];
}

/** `name` quoted as an identifier (backticks work on both MariaDB and SQLite). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

