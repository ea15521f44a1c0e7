/**
 * A row column whose value is computed only when read: the executions projection's
 * execution_details document (about 1 MB at 5,000 VMs) changes with every VM event,
 * and building it per event made one execution's fold quadratic. The working set
 * asks `lazyColumnOf` before comparing a row with the next one, so that comparing
 * does not compute it; the row store reads it once, when it writes the row.
 */
import type { Row, RowValue } from './row-codec.js';

const lazyColumns = new WeakMap<Row, string>();

/** Defines `column` on `row` as computed by `compute` on first read (then kept); assigning replaces it. */
export function defineLazyColumn(row: Row, column: string, compute: () => RowValue): void {
  let value: RowValue | undefined;
  Object.defineProperty(row, column, {
    enumerable: true,
    configurable: true,
    get() {
      if (value === undefined) value = compute();
      return value;
    },
    set(assigned: RowValue) {
      Object.defineProperty(row, column, { value: assigned, writable: true, enumerable: true, configurable: true });
      lazyColumns.delete(row);
    },
  });
  lazyColumns.set(row, column);
}

/** The column of `row` computed on read, if any: it counts as changed without being computed. */
export function lazyColumnOf(row: Row): string | undefined {
  return lazyColumns.get(row);
}
