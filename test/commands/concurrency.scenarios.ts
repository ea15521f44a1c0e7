/**
 * Commands racing each other through the API: optimistic concurrency on the
 * streams must keep every rule (unique names, one group per VM, max_members).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { startTestService, type Backend, type TestService } from '../support/test-service.js';

export function concurrencyScenarios(backend: Backend): void {
  describe(`concurrent commands on ${backend}`, () => {
    let service: TestService;
    let api: ApiClient;
    before(async () => {
      service = await startTestService(backend);
      api = apiClient(service.app);
    });
    after(async () => service.dispose());

    const registerVms = async (count: number, prefix: string) =>
      Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const answer = await api.post('/vm-contexts', { vm_name: `${prefix}-${i}`, vmware_vm_id: `${prefix}-${i}`, vm_path: `/dc/${prefix}-${i}`, vcenter_host: 'vc', datacenter: 'dc' });
          assert.equal(answer.status, 201);
          return answer.body.context_id as string;
        }),
      );

    it('lets exactly one of 20 simultaneous creates take a name', async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post('/schedules', { name: i % 2 ? 'Race' : 'RACE', cron_expression: '0 1 * * *' })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, ...Array<number>(19).fill(409)]);
      const list = await api.get('/schedules');
      assert.equal(list.body.schedules.filter((s: { name: string }) => s.name.toLowerCase() === 'race').length, 1);
    });

    it('never seats more than max_members when 12 VMs join at once', async () => {
      const group = await api.post('/machine-groups', { name: 'Capped', max_members: 5 });
      const vms = await registerVms(12, 'capped');
      const answers = await Promise.all(vms.map((vm) => api.post(`/machine-groups/${group.body.id}/vms`, { vm_context_id: vm })));
      assert.equal(answers.filter((a) => a.status === 201).length, 5);
      assert.equal(answers.filter((a) => a.status === 409).length, 7);
      const members = await api.get(`/machine-groups/${group.body.id}/vms`);
      assert.equal(members.body.total_vms, 5);
    });

    it('puts a VM in one group when two groups claim it at once', async () => {
      const [vm] = await registerVms(1, 'contested');
      const groups = await Promise.all(['Claim A', 'Claim B', 'Claim C'].map((name) => api.post('/machine-groups', { name })));
      const answers = await Promise.all(groups.map((g) => api.post(`/machine-groups/${g.body.id}/vms`, { vm_context_id: vm })));
      assert.equal(answers.filter((a) => a.status === 201).length, 1);
      const counts = await Promise.all(groups.map(async (g) => (await api.get(`/machine-groups/${g.body.id}`)).body.vm_count as number));
      assert.deepEqual(counts.sort(), [0, 0, 1]);
      // Seats given back by the losers: each losing group can still take a full load.
      const loser = groups.find((_, i) => answers[i]!.status !== 201)!;
      const capped = await api.patch(`/machine-groups/${loser.body.id}`, { max_members: 1 });
      assert.equal(capped.status, 200, 'the losing group holds no seat for the VM');
    });

    it('applies 30 concurrent edits of one schedule without losing any', async () => {
      const schedule = await api.post('/schedules', { name: 'Edited concurrently', cron_expression: '0 1 * * *' });
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => api.patch(`/schedules/${schedule.body.id}`, { description: `edit ${i}` })));
      assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.status)));
      const history = await api.get(`/schedules/${schedule.body.id}/history?limit=500`);
      const edits = history.body.events.filter((e: { type: string }) => e.type === 'ScheduleUpdated').map((e: { data: { changes: { description: string } } }) => e.data.changes.description);
      assert.equal(new Set(edits).size, 30, 'each edit is in the log once');
    });
  });
}
