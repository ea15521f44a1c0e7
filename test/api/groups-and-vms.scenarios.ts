/** Machine group, membership and VM context API scenarios, run on every read-model backend. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { startTestService, type Backend, type TestService } from '../support/test-service.js';

let vmCounter = 0;

export function groupAndVmScenarios(backend: Backend): void {
  describe(`machine groups, membership and VM contexts on ${backend}`, () => {
    let service: TestService;
    let api: ApiClient;
    const registerVm = async (fields: Record<string, unknown> = {}) => {
      vmCounter += 1;
      const answer = await api.post('/vm-contexts', {
        vm_name: `vm-${vmCounter}`, vmware_vm_id: `vm-${1000 + vmCounter}`, vm_path: `/dc1/vm/vm-${vmCounter}`, vcenter_host: 'vcenter.local', datacenter: 'dc1', ...fields,
      });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body.context_id as string;
    };
    const createGroup = async (fields: Record<string, unknown>) => {
      const answer = await api.post('/machine-groups', fields);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body.id as string;
    };
    before(async () => {
      service = await startTestService(backend);
      api = apiClient(service.app);
    });
    after(async () => service.dispose());

    it('registers VMs once per (vcenter_host, vmware_vm_id)', async () => {
      const first = await api.post('/vm-contexts', { vm_name: 'db01', vmware_vm_id: 'vm-42', vm_path: '/dc1/vm/db01', vcenter_host: 'vc-a', datacenter: 'dc1', cpu_count: 4, memory_mb: 8192, os_type: 'linux', power_state: 'poweredOn' });
      assert.equal(first.status, 201);
      assert.equal(first.body.current_status, 'discovered');
      assert.equal(first.body.scheduler_enabled, true);
      assert.equal(first.body.cpu_count, 4);
      const duplicate = await api.post('/vm-contexts', { vm_name: 'db01-renamed', vmware_vm_id: 'vm-42', vm_path: '/x', vcenter_host: 'VC-A', datacenter: 'dc1' });
      assert.equal(duplicate.status, 409);
      const sameNameOtherId = await api.post('/vm-contexts', { vm_name: 'db01', vmware_vm_id: 'vm-43', vm_path: '/dc1/vm/db01', vcenter_host: 'vc-a', datacenter: 'dc1' });
      assert.equal(sameNameOtherId.status, 201, 'identity is not the name');
      const otherVcenter = await api.post('/vm-contexts', { vm_name: 'db01', vmware_vm_id: 'vm-42', vm_path: '/dc1/vm/db01', vcenter_host: 'vc-b', datacenter: 'dc1' });
      assert.equal(otherVcenter.status, 201);
    });

    it('creates groups with defaults, refuses unknown schedules and taken names', async () => {
      const created = await api.post('/machine-groups', { name: 'Tier 1' });
      assert.equal(created.status, 201);
      assert.deepEqual(
        [created.body.max_concurrent_vms, created.body.max_members, created.body.priority, created.body.schedule_id, created.body.vm_count],
        [5, null, 0, null, 0],
      );
      assert.equal((await api.post('/machine-groups', { name: 'tier 1' })).status, 409);
      const unknownSchedule = await api.post('/machine-groups', { name: 'Tier 2', schedule_id: 'nosuchschedule' });
      assert.equal(unknownSchedule.status, 400);
      assert.ok(unknownSchedule.body.details.some((d: { path: string }) => d.path === '/schedule_id'));
    });

    it('assigns a VM to one group only, moves it on request', async () => {
      const a = await createGroup({ name: 'Move A' });
      const b = await createGroup({ name: 'Move B' });
      const vm = await registerVm();
      const assigned = await api.post(`/machine-groups/${a}/vms`, { vm_context_id: vm, priority: 3 });
      assert.equal(assigned.status, 201);
      assert.deepEqual(assigned.body.assigned, [vm]);
      const second = await api.post(`/machine-groups/${b}/vms`, { vm_context_id: vm });
      assert.equal(second.status, 409);
      const moved = await api.post(`/machine-groups/${b}/vms`, { vm_context_id: vm, move: true });
      assert.equal(moved.status, 201);
      assert.equal((await api.get(`/machine-groups/${a}/vms`)).body.total_vms, 0);
      assert.equal((await api.get(`/machine-groups/${b}/vms`)).body.total_vms, 1);
      assert.equal((await api.get(`/vm-contexts/${vm}`)).body.group.id, b);
      assert.equal((await api.post(`/machine-groups/${a}/vms`, { vm_context_id: 'nosuchvm' })).status, 404);
      // An unknown or deleted group is a 404 of its own, also for a bulk assignment (not every VM skipped).
      const unknownGroup = await api.post('/machine-groups/nosuchgroup/vms', { vm_context_ids: [vm] });
      assert.deepEqual([unknownGroup.status, unknownGroup.body.error], [404, 'NotFound']);
      assert.match(unknownGroup.body.message, /machine group/);
      assert.equal((await api.delete(`/machine-groups/${a}`)).status, 200);
      assert.equal((await api.post(`/machine-groups/${a}/vms`, { vm_context_ids: [vm], move: true })).status, 404);
    });

    it('enforces max_members, reporting bulk skips', async () => {
      const group = await createGroup({ name: 'Small', max_members: 2 });
      const vms = [await registerVm(), await registerVm(), await registerVm()];
      const bulk = await api.post(`/machine-groups/${group}/vms`, { vm_context_ids: [...vms, 'nosuchvm'] });
      assert.equal(bulk.status, 201);
      assert.deepEqual(bulk.body.assigned, vms.slice(0, 2));
      assert.deepEqual(bulk.body.skipped.map((s: { vm_context_id: string }) => s.vm_context_id), [vms[2], 'nosuchvm']);
      assert.deepEqual(bulk.body.group_capacity, { current_members: 2, max_members: 2, available: 0 });
      const single = await api.post(`/machine-groups/${group}/vms`, { vm_context_id: vms[2] });
      assert.equal(single.status, 409);
      const shrink = await api.patch(`/machine-groups/${group}`, { max_members: 1 });
      assert.equal(shrink.status, 409, 'max_members below the member count is refused');
    });

    it('orders members by priority, updates and removes memberships', async () => {
      const group = await createGroup({ name: 'Ordered' });
      const [low, high, mid] = [await registerVm(), await registerVm(), await registerVm()];
      await api.post(`/machine-groups/${group}/vms`, { vm_context_id: low, priority: 10 });
      await api.post(`/machine-groups/${group}/vms`, { vm_context_id: high, priority: 1 });
      await api.post(`/machine-groups/${group}/vms`, { vm_context_id: mid, priority: 5, enabled: false });
      const members = await api.get(`/machine-groups/${group}/vms`);
      assert.deepEqual(members.body.vms.map((v: { vm_context_id: string }) => v.vm_context_id), [high, mid, low]);
      assert.equal(members.body.vms[1].enabled, false);
      const stats = await api.get(`/machine-groups/${group}`);
      assert.deepEqual([stats.body.vm_count, stats.body.enabled_vm_count], [3, 2]);
      const patched = await api.patch(`/machine-groups/${group}/vms/${low}`, { priority: 0, enabled: true });
      assert.equal(patched.status, 200);
      assert.deepEqual([patched.body.priority, patched.body.enabled], [0, true]);
      assert.equal((await api.get(`/machine-groups/${group}/vms`)).body.vms[0].vm_context_id, low);
      const outsider = await registerVm();
      assert.equal((await api.patch(`/machine-groups/${group}/vms/${outsider}`, { priority: 1 })).status, 404);
      assert.equal((await api.delete(`/machine-groups/${group}/vms/${outsider}`)).status, 404, 'removing a non-member is a 404');
      assert.equal((await api.delete(`/machine-groups/${group}/vms/${mid}`)).status, 200);
      assert.equal((await api.get(`/machine-groups/${group}/vms`)).body.total_vms, 2);
    });

    it('sets a schedule override only to an existing schedule', async () => {
      const schedule = await api.post('/schedules', { name: 'Override target', cron_expression: '0 9 * * *' });
      const group = await createGroup({ name: 'Overrides' });
      const vm = await registerVm();
      await api.post(`/machine-groups/${group}/vms`, { vm_context_id: vm });
      assert.equal((await api.patch(`/machine-groups/${group}/vms/${vm}`, { schedule_override_id: 'nosuchschedule' })).status, 400);
      const set = await api.patch(`/machine-groups/${group}/vms/${vm}`, { schedule_override_id: schedule.body.id });
      assert.equal(set.body.schedule_override_id, schedule.body.id);
      const refused = await api.delete(`/schedules/${schedule.body.id}`);
      assert.equal(refused.status, 409, 'an override references the schedule');
      assert.match(refused.body.message, new RegExp(vm));
    });

    it('refuses to delete a group with members unless asked to unassign them', async () => {
      const group = await createGroup({ name: 'To delete' });
      const vms = [await registerVm(), await registerVm()];
      await api.post(`/machine-groups/${group}/vms`, { vm_context_ids: vms });
      const refused = await api.delete(`/machine-groups/${group}`);
      assert.equal(refused.status, 409);
      const deleted = await api.delete(`/machine-groups/${group}?unassign_members=true`);
      assert.deepEqual([deleted.status, deleted.body], [200, { id: group, deleted: true }]);
      assert.equal((await api.get(`/machine-groups/${group}`)).status, 404);
      const ungrouped = await api.get('/vm-contexts/ungrouped');
      for (const vm of vms) assert.ok(ungrouped.body.vms.some((v: { context_id: string }) => v.context_id === vm));
      assert.equal(ungrouped.body.count, ungrouped.body.vms.length);
      assert.equal((await api.post('/machine-groups', { name: 'TO DELETE' })).status, 201, 'the name is free again');
    });

    it('sets a VM group through PUT /vm-contexts/{id}/group', async () => {
      const a = await createGroup({ name: 'Put A' });
      const b = await createGroup({ name: 'Put B' });
      const vm = await registerVm();
      const first = await api.put(`/vm-contexts/${vm}/group`, { group_id: a, priority: 7 });
      assert.equal(first.status, 200);
      assert.deepEqual([first.body.group_id, first.body.priority], [a, 7]);
      const moved = await api.put(`/vm-contexts/${vm}/group`, { group_id: b });
      assert.equal(moved.body.group_id, b);
      const out = await api.put(`/vm-contexts/${vm}/group`, { group_id: null });
      assert.deepEqual(out.body, { vm_context_id: vm, group_id: null });
      assert.equal((await api.get(`/vm-contexts/${vm}`)).body.group, null);
      assert.equal((await api.put('/vm-contexts/nosuchvm/group', { group_id: a })).status, 404);
      assert.equal((await api.put('/vm-contexts/nosuchvm/group', { group_id: null })).status, 404);
      assert.equal((await api.put(`/vm-contexts/${vm}/group`, { group_id: 'nosuchgroup' })).status, 404);
    });

    it('records status reports and the scheduler switch', async () => {
      const vm = await registerVm();
      const failedOver = await api.post(`/vm-contexts/${vm}/status`, { status: 'failed_over_test', reason: 'test failover' });
      assert.equal(failedOver.status, 200);
      assert.equal(failedOver.body.current_status, 'failed_over_test');
      assert.equal((await api.post(`/vm-contexts/${vm}/status`, { status: 'exploded' })).status, 400);
      assert.equal((await api.post('/vm-contexts/nosuchvm/status', { status: 'completed' })).status, 404);
      const off = await api.post(`/vm-contexts/${vm}/scheduler`, { enabled: false });
      assert.equal(off.body.scheduler_enabled, false);
      const listed = await api.get('/vm-contexts?status=failed_over_test');
      assert.ok(listed.body.vms.some((v: { context_id: string }) => v.context_id === vm));
      assert.ok(listed.body.vms.every((v: { current_status: string }) => v.current_status === 'failed_over_test'));
    });

    it('lists VMs with filters, search and true totals across pages', async () => {
      const group = await createGroup({ name: 'Listing' });
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push(await registerVm({ vm_name: `web_${i}%` }));
      await api.post(`/machine-groups/${group}/vms`, { vm_context_ids: ids.slice(0, 4) });
      const page1 = await api.get(`/vm-contexts?group_id=${group}&limit=3&page=1`);
      const page2 = await api.get(`/vm-contexts?group_id=${group}&limit=3&page=2`);
      assert.deepEqual([page1.body.total_count, page1.body.vms.length, page1.body.has_more], [4, 3, true]);
      assert.deepEqual([page2.body.total_count, page2.body.vms.length, page2.body.has_more, page2.body.page], [4, 1, false, 2]);
      const search = await api.get('/vm-contexts?search=WEB_&limit=500');
      assert.equal(search.body.total_count, 7, 'search is case-insensitive and matches % and _ literally');
      const literal = await api.get(`/vm-contexts?search=${encodeURIComponent('b_1%')}`);
      assert.equal(literal.body.total_count, 1);
      const ungrouped = await api.get('/vm-contexts?ungrouped=true&search=web_&limit=500');
      assert.equal(ungrouped.body.total_count, 3);
      assert.equal((await api.get('/vm-contexts/nosuchvm')).status, 404);
    });
  });
}
