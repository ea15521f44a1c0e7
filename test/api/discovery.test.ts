/** Discovery routes against a fake VMA over real HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { fakeVm, startFakeAppliances, type FakeAppliances } from '../support/fake-appliances.js';
import { logLength, startTestService, type TestService } from '../support/test-service.js';

describe('discovery against a VMA', () => {
  let appliances: FakeAppliances;
  let service: TestService;
  let api: ApiClient;
  before(async () => {
    const credentials = { 'vc.example': { username: 'svc-scheduler', password: 'vc-secret-pass' } };
    appliances = await startFakeAppliances({
      vcenterCredentials: credentials,
      vms: [fakeVm('web-01'), fakeVm('web-010'), fakeVm('db-01'), fakeVm('twin', { id: 'vm-twin-a' }), fakeVm('twin', { id: 'vm-twin-b' })],
    });
    service = await startTestService('sqlite', {
      VMA_API_URL: appliances.url,
      OMA_API_URL: appliances.url,
      OMA_API_TOKEN: appliances.token,
      OMA_OSSEA_CONFIG_ID: '7',
      VCENTER_CREDENTIALS: JSON.stringify(credentials),
    });
    api = apiClient(service.app);
  });
  after(async () => {
    await service.dispose();
    await appliances.close();
  });

  it('lists the VMs of a datacenter and marks the registered ones', async () => {
    const registered = await api.post('/vm-contexts', { vm_name: 'db-01', vmware_vm_id: 'vm-db-01', vm_path: '/DC1/vm/db-01', vcenter_host: 'VC.example', datacenter: 'DC1' });
    assert.equal(registered.status, 201);
    const answer = await api.post('/discovery/discover-vms', { vcenter: 'vc.example', datacenter: 'DC1' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.discovery_count, 5);
    const db = answer.body.discovered_vms.find((vm: { name: string }) => vm.name === 'db-01');
    assert.deepEqual([db.existing, db.context_id, db.vmware_vm_id, db.cpu_count], [true, registered.body.context_id, 'vm-db-01', 2]);
    assert.equal(answer.body.discovered_vms.find((vm: { name: string }) => vm.name === 'web-01').existing, false);
    assert.equal(answer.body.discovered_vms.find((vm: { name: string }) => vm.name === 'web-01').context_id, undefined);
  });

  it('adds VMs by exact name only, reporting ambiguous, unknown and known names', async () => {
    const answer = await api.post('/discovery/add-vms', { vcenter: 'vc.example', datacenter: 'DC1', vm_names: ['web-01', 'twin', 'web', 'db-01'] });
    assert.equal(answer.status, 200);
    const byName = Object.fromEntries(answer.body.processed_vms.map((p: { vm_name: string }) => [p.vm_name, p]));
    assert.equal(byName['web-01'].success, true, 'web-01, not web-010');
    assert.match(byName.twin.error, /several/);
    assert.match(byName.web.error, /no VM has exactly/);
    assert.deepEqual([byName['db-01'].success, byName['db-01'].error], [false, 'already registered']);
    assert.deepEqual([answer.body.vms_added, answer.body.vms_failed, answer.body.total_vms], [1, 3, 4]);
    const vm = await api.get(`/vm-contexts/${byName['web-01'].context_id}`);
    assert.deepEqual([vm.body.vmware_vm_id, vm.body.auto_added, vm.body.vcenter_host, vm.body.total_jobs_run], ['vm-web-01', true, 'vc.example', 0]);
  });

  it('bulk-adds the rest and reports duplicates as skips', async () => {
    const answer = await api.post('/discovery/bulk-add', { vcenter: 'vc.example', datacenter: 'DC1' });
    assert.equal(answer.status, 200);
    assert.deepEqual([answer.body.total_requested, answer.body.successfully_added, answer.body.skipped, answer.body.failed], [5, 3, 2, 0]);
    assert.deepEqual(answer.body.skipped_vms.map((s: { vm_name: string }) => s.vm_name).sort(), ['db-01', 'web-01']);
    assert.ok(answer.body.skipped_vms.every((s: { existing_context_id: string | null }) => typeof s.existing_context_id === 'string'));
    const again = await api.post('/discovery/bulk-add', { vcenter: 'vc.example', datacenter: 'DC1' });
    assert.deepEqual([again.body.successfully_added, again.body.skipped], [0, 5]);
    const ungrouped = await api.get('/discovery/ungrouped-vms');
    assert.equal(ungrouped.body.count, 5);
  });

  it('refuses a vCenter without credentials, and a VMA that does not answer, appending nothing', async () => {
    const before = await logLength(service);
    const unknownVcenter = await api.post('/discovery/discover-vms', { vcenter: 'other.example', datacenter: 'DC1' });
    assert.equal(unknownVcenter.status, 400);
    assert.ok(!JSON.stringify(unknownVcenter.body).includes('vc-secret-pass'));
    appliances.failNext('discover', 10, 500);
    const down = await api.post('/discovery/bulk-add', { vcenter: 'vc.example', datacenter: 'DC1' });
    assert.equal(down.status, 503);
    assert.equal(down.body.error, 'Unavailable');
    assert.equal(await logLength(service), before);
  });
});
