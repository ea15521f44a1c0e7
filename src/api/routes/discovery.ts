/** Routes under /discovery (spec/api.md, VM contexts and discovery). */
import type { FastifyInstance } from 'fastify';
import { addDiscoveredVms, describeDiscoveredVm } from '../../commands/discovery-commands.js';
import { GatewayError, MissingCredentialsError } from '../../integrations/gateway-errors.js';
import type { DiscoveredVm, DiscoveryRequest, VmaDiscovery } from '../../integrations/replication-gateway.js';
import { matchVmByName } from '../../integrations/vm-name-match.js';
import { VmQueries } from '../../queries/vm-queries.js';
import { ApiError } from '../api-error.js';
import type { ApiDeps } from '../app.js';
import { errorResponses, pagingQuery } from '../schemas/common.js';
import { addVmsBody, bulkAddBody, discoverBody } from '../schemas/discovery-schemas.js';
import { commandContext, readYourWrites } from '../write-flow.js';

/** Asks the VMA, turning its failures into answers a caller can act on. */
async function discover(discovery: VmaDiscovery | undefined, request: DiscoveryRequest): Promise<DiscoveredVm[]> {
  if (!discovery) throw new ApiError('Unavailable', 'discovery is not configured (no VMA and no simulator)');
  try {
    return await discovery.discover(request);
  } catch (error) {
    if (error instanceof MissingCredentialsError) {
      throw new ApiError('ValidationError', `no credentials are configured for vCenter "${request.vcenter}" (VCENTER_CREDENTIALS)`, [{ path: '/vcenter', message: 'no credentials configured' }]);
    }
    if (error instanceof GatewayError) throw new ApiError('Unavailable', `the VMA did not answer the discovery: ${error.message}`);
    throw error;
  }
}

export async function registerDiscoveryRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const vms = new VmQueries(deps.readDb.knex);
  const tags = ['Discovery'];
  const knownIds = async (vcenter: string, found: readonly DiscoveredVm[]) => vms.contextIdsByIdentity(vcenter, found.map((vm) => vm.id));

  app.post<{ Body: { vcenter: string; datacenter: string; filter?: string } }>(
    '/discovery/discover-vms',
    { config: { minRole: 'viewer' }, schema: { tags, summary: 'List the VMs of a datacenter, marking those already registered', body: discoverBody, response: errorResponses(503) } },
    async (request) => {
      const { vcenter, datacenter, filter } = request.body;
      const found = await discover(deps.discovery, { vcenter, datacenter, ...(filter !== undefined && { filter }) });
      const known = await knownIds(vcenter, found);
      const discovered = found.map((vm) => ({ ...vm, ...describeDiscoveredVm(vm, vcenter, datacenter), existing: known.has(vm.id), ...(known.has(vm.id) && { context_id: known.get(vm.id) }) }));
      return { discovered_vms: discovered, discovery_count: discovered.length };
    },
  );

  app.post<{ Body: { vcenter: string; datacenter: string; vm_names: string[] } }>(
    '/discovery/add-vms',
    { schema: { tags, summary: 'Register VMs of a datacenter by exact name', body: addVmsBody, response: errorResponses(503) } },
    async (request) => {
      const { vcenter, datacenter, vm_names: names } = request.body;
      const found = await discover(deps.discovery, { vcenter, datacenter, filter: names.join(',') });
      const processed: Array<{ vm_name: string; success: boolean; context_id?: string; error?: string }> = [];
      const picked: DiscoveredVm[] = [];
      for (const name of names) {
        const match = matchVmByName(found, name);
        if (match.kind === 'found') picked.push(match.vm);
        else processed.push({ vm_name: name, success: false, error: match.kind === 'ambiguous' ? 'several VMs have exactly this name' : 'no VM has exactly this name' });
      }
      const known = await knownIds(vcenter, picked);
      const { outcomes, position } = await addDiscoveredVms(deps.store, picked, { vcenterHost: vcenter, datacenter }, async (vm) => known.get(vm.id) ?? null, commandContext(request, deps));
      for (const outcome of outcomes) {
        if (outcome.kind === 'added') processed.push({ vm_name: outcome.vm_name, success: true, context_id: outcome.context_id });
        else if (outcome.kind === 'existing') processed.push({ vm_name: outcome.vm_name, success: false, ...(outcome.context_id && { context_id: outcome.context_id }), error: 'already registered' });
        else processed.push({ vm_name: outcome.vm_name, success: false, error: outcome.error });
      }
      await readYourWrites(deps, request, position);
      const added = processed.filter((p) => p.success).length;
      return { vms_added: added, vms_failed: processed.length - added, total_vms: names.length, processed_vms: processed };
    },
  );

  app.post<{ Body: { vcenter: string; datacenter: string; filter?: string; selected_vms?: string[] } }>(
    '/discovery/bulk-add',
    { schema: { tags, summary: 'Register every discovered VM (or the selected ones); duplicates are reported as skips', body: bulkAddBody, response: errorResponses(503) } },
    async (request) => {
      const { vcenter, datacenter, filter, selected_vms: selected } = request.body;
      const found = await discover(deps.discovery, { vcenter, datacenter, ...(filter !== undefined && { filter }) });
      const failed: Array<{ vm_name: string; error: string }> = [];
      let candidates = found;
      if (selected) {
        candidates = [];
        for (const name of selected) {
          const match = matchVmByName(found, name);
          if (match.kind === 'found') candidates.push(match.vm);
          else failed.push({ vm_name: name, error: match.kind === 'ambiguous' ? 'several VMs have exactly this name' : 'no VM has exactly this name' });
        }
      }
      const known = await knownIds(vcenter, candidates);
      const { outcomes, position } = await addDiscoveredVms(deps.store, candidates, { vcenterHost: vcenter, datacenter }, async (vm) => known.get(vm.id) ?? null, commandContext(request, deps));
      await readYourWrites(deps, request, position);
      const added = outcomes.flatMap((o) => (o.kind === 'added' ? [{ vm_name: o.vm_name, context_id: o.context_id }] : []));
      const skipped = outcomes.flatMap((o) => (o.kind === 'existing' ? [{ vm_name: o.vm_name, reason: o.reason, existing_context_id: o.context_id }] : []));
      failed.push(...outcomes.flatMap((o) => (o.kind === 'failed' ? [{ vm_name: o.vm_name, error: o.error }] : [])));
      return {
        total_requested: selected ? selected.length : found.length,
        successfully_added: added.length,
        skipped: skipped.length,
        failed: failed.length,
        added_vms: added,
        skipped_vms: skipped,
        failed_vms: failed,
      };
    },
  );

  app.get<{ Querystring: { limit: number; page: number } }>(
    '/discovery/ungrouped-vms',
    { schema: { tags, summary: 'VMs in no group (as /vm-contexts/ungrouped)', querystring: { type: 'object', additionalProperties: false, properties: pagingQuery } } },
    async (request) => {
      const { items, ...page } = await vms.ungrouped(request.query.limit, request.query.page);
      return { vms: items, count: page.total_count, ...page };
    },
  );
}
