/** A new version of the schedules projection (descriptions in upper case), to see a changed version rebuilt. */
import { allProjections } from '../../src/projections/all-projections.js';
import type { Row, RowProjection } from '../../src/projections/projection.js';
import { schedulesProjection } from '../../src/projections/schedules.projection.js';

export const schedulesVersion2: RowProjection = {
  ...schedulesProjection,
  version: 2,
  apply(row: Row | null, event) {
    const next = schedulesProjection.apply(row, event);
    if (next === null || next === row || typeof next.description !== 'string') return next;
    return { ...next, description: next.description.toUpperCase() };
  },
};

/** allProjections with schedulesVersion2 in place of the schedules projection. */
export const projectionsWithSchedulesVersion2: readonly RowProjection[] = allProjections.map((projection) =>
  projection.name === schedulesProjection.name ? schedulesVersion2 : projection,
);
