import type { Knex } from 'knex';
import type { Row } from './row-values.js';

export interface Page<T> {
  items: T[];
  total_count: number;
  page: number;
  page_size: number;
  has_more: boolean;
}

/** Runs a filtered query for one page plus its true total. */
export async function pageOf(query: Knex.QueryBuilder, orderBy: Array<{ column: string; order?: 'asc' | 'desc' }>, limit: number, page: number): Promise<Page<Row>> {
  const countRow = (await query.clone().clearSelect().clearOrder().count({ count: '*' }).first()) as { count: number | string } | undefined;
  const total = Number(countRow?.count ?? 0);
  const items = (await query.clone().orderBy(orderBy).limit(limit).offset((page - 1) * limit)) as Row[];
  return { items, total_count: total, page, page_size: limit, has_more: (page - 1) * limit + items.length < total };
}
