/** Routes under /machine-groups and PUT /vm-contexts/{id}/group (spec/api.md, Machine groups and membership). */
import type { FastifyInstance } from 'fastify';
import { createGroup, deleteGroup, updateGroup } from '../../commands/group-commands.js';
import { assignVm, groupIsLive, unassignVm, updateMembership } from '../../commands/membership-commands.js';
import { laterPosition } from '../../commands/run-decider.js';
import { DomainError } from '../../domain/decider.js';
import type { GroupSettings, MembershipSettings } from '../../domain/vm-fields.js';
import type { Position } from '../../eventstore/event-store.js';
import { GroupQueries } from '../../queries/group-queries.js';
import { VmQueries } from '../../queries/vm-queries.js';
import { notFound } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParam, idParams, pagingQuery } from '../schemas/common.js';
import { assignBody, createGroupBody, deleteGroupQuery, groupMemberParams, membershipChangesBody, updateGroupBody, vmGroupBody } from '../schemas/group-schemas.js';
import { answerWrite, commandContext, readYourWrites } from '../write-flow.js';

type IdParams = { id: string };
interface AssignBody {
  vm_context_id?: string;
  vm_context_ids?: string[];
  priority?: number;
  enabled?: boolean;
  move?: boolean;
  schedule_override_id?: string | null;
}

export async function registerGroupRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const groups = new GroupQueries(deps.readDb.knex);
  const vms = new VmQueries(deps.readDb.knex);
  const { store } = deps;
  const tags = ['Machine groups'];

  app.post<{ Body: Partial<GroupSettings> & { name: string } }>(
    '/machine-groups',
    { schema: { tags, summary: 'Create a machine group', body: createGroupBody, response: errorResponses(409) } },
    async (request, reply) => {
      const outcome = await createGroup(store, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 201, () => groups.get(outcome.id));
    },
  );

  app.get<{ Querystring: { schedule_id?: string; limit: number; page: number } }>(
    '/machine-groups',
    { schema: { tags, summary: 'List machine groups with statistics', querystring: { type: 'object', additionalProperties: false, properties: { schedule_id: idParam, ...pagingQuery } } } },
    async (request) => {
      const { items, ...page } = await groups.list({ scheduleId: request.query.schedule_id, limit: request.query.limit, page: request.query.page });
      return { groups: items, ...page };
    },
  );

  app.get<{ Params: IdParams }>('/machine-groups/:id', { schema: { tags, summary: 'Get a machine group', params: idParams, response: errorResponses(404) } }, async (request) => {
    const group = await groups.get(request.params.id);
    if (!group) throw notFound('machine group', request.params.id);
    return group;
  });

  app.route<{ Params: IdParams; Body: Partial<GroupSettings> }>({
    method: ['PUT', 'PATCH'],
    url: '/machine-groups/:id',
    schema: { tags, summary: 'Change some fields of a machine group', params: idParams, body: updateGroupBody, response: errorResponses(404, 409) },
    handler: async (request, reply) => {
      const outcome = await updateGroup(store, request.params.id, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => groups.get(outcome.id));
    },
  });

  app.delete<{ Params: IdParams; Querystring: { unassign_members: boolean } }>(
    '/machine-groups/:id',
    { schema: { tags, summary: 'Delete a machine group (unassign_members=true empties it first)', params: idParams, querystring: deleteGroupQuery, response: errorResponses(404, 409) } },
    async (request, reply) => {
      const outcome = await deleteGroup(store, request.params.id, request.query.unassign_members, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, async () => ({ id: outcome.id, deleted: true }));
    },
  );

  app.post<{ Params: IdParams; Body: AssignBody }>(
    '/machine-groups/:id/vms',
    { schema: { tags, summary: 'Assign one or many VMs to a group', params: idParams, body: assignBody, response: errorResponses(404, 409) } },
    async (request, reply) => {
      const groupId = request.params.id;
      if (!(await groupIsLive(store, groupId))) throw notFound('machine group', groupId);
      const context = commandContext(request, deps);
      const body = request.body;
      const options = { priority: body.priority, enabled: body.enabled, schedule_override_id: body.schedule_override_id, move: body.move === true };
      const assigned: string[] = [];
      const skipped: Array<{ vm_context_id: string; reason: string }> = [];
      let position: Position | null = null;
      if (body.vm_context_id !== undefined) {
        // A single VM that cannot join is an error of its own (404 or 409).
        position = (await assignVm(store, groupId, body.vm_context_id, options, context)).position;
        assigned.push(body.vm_context_id);
      } else {
        for (const vmId of body.vm_context_ids ?? []) {
          try {
            position = laterPosition(store, position, (await assignVm(store, groupId, vmId, options, context)).position);
            assigned.push(vmId);
          } catch (error) {
            if (!(error instanceof DomainError) || error.kind === 'ValidationError') throw error;
            skipped.push({ vm_context_id: vmId, reason: error.message });
          }
        }
      }
      await readYourWrites(deps, request, position);
      return reply.code(201).send({ group_id: groupId, assigned, skipped, group_capacity: await groups.capacity(groupId) });
    },
  );

  app.get<{ Params: IdParams }>('/machine-groups/:id/vms', { schema: { tags, summary: "A group's members in priority order", params: idParams, response: errorResponses(404) } }, async (request) => {
    const group = await groups.get(request.params.id);
    if (!group) throw notFound('machine group', request.params.id);
    const vms = await groups.members(group.id);
    return { group_id: group.id, group_name: group.name, total_vms: vms.length, vms };
  });

  app.patch<{ Params: { id: string; vmId: string }; Body: Partial<MembershipSettings> }>(
    '/machine-groups/:id/vms/:vmId',
    { schema: { tags, summary: "Change a member's priority, enabled flag or schedule override", params: groupMemberParams, body: membershipChangesBody, response: errorResponses(404) } },
    async (request, reply) => {
      const outcome = await updateMembership(store, request.params.id, request.params.vmId, request.body, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => groups.membershipOf(request.params.vmId));
    },
  );

  app.delete<{ Params: { id: string; vmId: string } }>(
    '/machine-groups/:id/vms/:vmId',
    { schema: { tags, summary: 'Remove a VM from a group', params: groupMemberParams, response: errorResponses(404) } },
    async (request, reply) => {
      const outcome = await unassignVm(store, request.params.id, request.params.vmId, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, async () => ({ group_id: request.params.id, vm_context_id: request.params.vmId, removed: true }));
    },
  );

  app.put<{ Params: IdParams; Body: { group_id: string | null; priority?: number; enabled?: boolean } }>(
    '/vm-contexts/:id/group',
    { schema: { tags, summary: "Set a VM's group (moving it if needed; null takes it out)", params: idParams, body: vmGroupBody, response: errorResponses(404, 409) } },
    async (request, reply) => {
      const vmId = request.params.id;
      const context = commandContext(request, deps);
      const { group_id: groupId, priority, enabled } = request.body;
      if (groupId === null) {
        if (!(await vms.get(vmId))) throw notFound('VM context', vmId);
        const current = await groups.membershipOf(vmId);
        const outcome = current ? await unassignVm(store, null, vmId, context) : { id: vmId, position: null };
        return answerWrite(deps, request, reply, outcome, 200, async () => ({ vm_context_id: vmId, group_id: null }));
      }
      if (!(await groups.get(groupId))) throw new DomainError('NotFound', `machine group ${groupId} not found`);
      const outcome = await assignVm(store, groupId, vmId, { priority, enabled, move: true }, context);
      if (priority !== undefined || enabled !== undefined) {
        // Already a member: the assignment changed nothing, so apply the settings given.
        const changed = await updateMembership(store, groupId, vmId, { ...(priority !== undefined && { priority }), ...(enabled !== undefined && { enabled }) }, context);
        outcome.position = laterPosition(store, outcome.position, changed.position);
      }
      return answerWrite(deps, request, reply, outcome, 200, () => groups.membershipOf(vmId));
    },
  );
}
