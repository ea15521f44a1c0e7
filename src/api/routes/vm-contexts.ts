/** Routes under /vm-contexts (spec/api.md, VM contexts), without discovery. */
import type { FastifyInstance } from 'fastify';
import { registerVm, reportVmStatus, setVmScheduler } from '../../commands/vm-commands.js';
import type { VmDescription, VmStatus } from '../../domain/vm-fields.js';
import { tidyDescription } from '../../domain/vm-context.js';
import { GroupQueries } from '../../queries/group-queries.js';
import { VmQueries, type VmFilter } from '../../queries/vm-queries.js';
import { notFound } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, idParams, pagingQuery } from '../schemas/common.js';
import { registerVmBody, schedulerSwitchBody, vmListQuery, vmStatusBody } from '../schemas/vm-schemas.js';
import { answerWrite, commandContext } from '../write-flow.js';

type IdParams = { id: string };
type RegisterBody = Pick<VmDescription, 'vm_name' | 'vmware_vm_id' | 'vm_path' | 'vcenter_host' | 'datacenter'> & Partial<VmDescription>;

export async function registerVmRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const vms = new VmQueries(deps.readDb.knex);
  const groups = new GroupQueries(deps.readDb.knex);
  const { store } = deps;
  const tags = ['VM contexts'];

  const detail = async (id: string) => {
    // Reads at once: the answer waits for one round trip (two for a member), not four.
    const [vm, membership, recentJobs] = await Promise.all([vms.get(id), groups.membershipOf(id), vms.recentJobs(id, 10)]);
    if (!vm) return null;
    const groupName = membership ? await groups.nameOf(membership.group_id) : null;
    return {
      ...vm,
      group:
        membership && groupName !== null
          ? { id: membership.group_id, name: groupName, priority: membership.priority, enabled: membership.enabled, schedule_override_id: membership.schedule_override_id, added_at: membership.added_at }
          : null,
      recent_jobs: recentJobs,
    };
  };

  app.post<{ Body: RegisterBody }>(
    '/vm-contexts',
    { schema: { tags, summary: 'Register a VM', body: registerVmBody, response: errorResponses(409) } },
    async (request, reply) => {
      const outcome = await registerVm(store, tidyDescription(request.body), false, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 201, () => detail(outcome.id));
    },
  );

  app.get<{ Querystring: VmFilter }>('/vm-contexts', { schema: { tags, summary: 'List VM contexts', querystring: vmListQuery } }, async (request) => {
    const page = await vms.list(request.query);
    return { vms: page.items, total_count: page.total_count, page: page.page, page_size: page.page_size, has_more: page.has_more };
  });

  app.get<{ Querystring: { limit: number; page: number } }>(
    '/vm-contexts/ungrouped',
    { schema: { tags, summary: 'VMs in no group', querystring: { type: 'object', additionalProperties: false, properties: pagingQuery } } },
    async (request) => {
      const { items, ...page } = await vms.ungrouped(request.query.limit, request.query.page);
      return { vms: items, count: page.total_count, ...page };
    },
  );

  app.get<{ Params: IdParams }>('/vm-contexts/:id', { schema: { tags, summary: 'Get a VM context', params: idParams, response: errorResponses(404) } }, async (request) => {
    const vm = await detail(request.params.id);
    if (!vm) throw notFound('VM context', request.params.id);
    return vm;
  });

  app.post<{ Params: IdParams; Body: { status: VmStatus; reason?: string | null } }>(
    '/vm-contexts/:id/status',
    { schema: { tags, summary: "Report a VM's status (failover engine)", params: idParams, body: vmStatusBody, response: errorResponses(404) } },
    async (request, reply) => {
      const outcome = await reportVmStatus(store, request.params.id, request.body.status, request.body.reason ?? null, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => detail(outcome.id));
    },
  );

  app.post<{ Params: IdParams; Body: { enabled: boolean } }>(
    '/vm-contexts/:id/scheduler',
    { schema: { tags, summary: 'Include or exclude a VM from schedules', params: idParams, body: schedulerSwitchBody, response: errorResponses(404) } },
    async (request, reply) => {
      const outcome = await setVmScheduler(store, request.params.id, request.body.enabled, commandContext(request, deps));
      return answerWrite(deps, request, reply, outcome, 200, () => detail(outcome.id));
    },
  );
}
