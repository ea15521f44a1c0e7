/** Every read-model projection the runner maintains. */
import { machineGroupsProjection } from './machine-groups.projection.js';
import { membershipsProjection } from './memberships.projection.js';
import type { RowProjection } from './projection.js';
import { schedulesProjection } from './schedules.projection.js';
import { vmContextsProjection } from './vm-contexts.projection.js';

export const allProjections: readonly RowProjection[] = [
  schedulesProjection,
  machineGroupsProjection,
  membershipsProjection,
  vmContextsProjection,
];
