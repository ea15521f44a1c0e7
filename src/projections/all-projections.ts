/** Every read-model projection the runner maintains. */
import { executionsProjection } from './executions.projection.js';
import { jobsProjection } from './jobs.projection.js';
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
  executionsProjection,
  jobsProjection,
];
