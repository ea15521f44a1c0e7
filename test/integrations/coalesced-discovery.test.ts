import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesceDiscoveries } from '../../src/integrations/coalesced-discovery.js';
import type { DiscoveredVm, DiscoveryRequest, VmaDiscovery } from '../../src/integrations/replication-gateway.js';
import { vmaNameFilter } from '../../src/integrations/vma-name-filter.js';
import { fakeVm } from '../support/fake-appliances.js';

/** A VMA of a fixed inventory that records each discovery asked of it. */
function recordingVma(inventory: DiscoveredVm[], fail: (request: DiscoveryRequest) => Error | null = () => null) {
  const asked: DiscoveryRequest[] = [];
  const vma: VmaDiscovery = {
    async discover(request) {
      asked.push(request);
      const failure = fail(request);
      if (failure) throw failure;
      return inventory.filter((vm) => vm.datacenter === request.datacenter).filter(vmaNameFilter(request.filter));
    },
    async jobStatus() {
      return 'unknown';
    },
  };
  return { vma, asked };
}

const names = (vms: DiscoveredVm[]) => vms.map((vm) => vm.name).sort();

describe('coalesced VMA discoveries', () => {
  const inventory = [fakeVm('web-1'), fakeVm('web-10'), fakeVm('db-1'), fakeVm('Mail'), fakeVm('app-1', { datacenter: 'DC2' })];

  it('sends the filters asked for together as one request, and answers each as the VMA would have', async () => {
    const { vma, asked } = recordingVma(inventory);
    const discovery = coalesceDiscoveries(vma);
    const [web1, db1, mail] = await Promise.all([
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'web-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'db-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'MAIL' }),
    ]);
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]?.filter?.split(',').sort(), ['db-1', 'mail', 'web-1']);
    assert.deepEqual(names(web1), ['web-1', 'web-10'], 'the names containing the filter, as the VMA keeps them');
    assert.deepEqual(names(db1), ['db-1']);
    assert.deepEqual(names(mail), ['Mail']);
  });

  it('asks each vCenter and datacenter apart, and passes a discovery without filter through', async () => {
    const { vma, asked } = recordingVma(inventory);
    const discovery = coalesceDiscoveries(vma);
    const [dc1, dc2, all] = await Promise.all([
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'app-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC2', filter: 'app-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1' }),
    ]);
    assert.equal(asked.length, 3);
    assert.deepEqual([names(dc1), names(dc2), all.length], [[], ['app-1'], 4]);
  });

  it('does not hold a discovery asked later: each turn of the event loop sends its own', async () => {
    const { vma, asked } = recordingVma(inventory);
    const discovery = coalesceDiscoveries(vma);
    assert.deepEqual(names(await discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'db-1' })), ['db-1']);
    assert.deepEqual(names(await discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'web-10' })), ['web-10']);
    assert.deepEqual(asked.map((request) => request.filter), ['db-1', 'web-10']);
  });

  it('fails every caller of a failed request, and only those', async () => {
    const { vma } = recordingVma(inventory, (request) => (request.datacenter === 'DC1' ? new Error('VMA down') : null));
    const discovery = coalesceDiscoveries(vma);
    const results = await Promise.allSettled([
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'web-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'db-1' }),
      discovery.discover({ vcenter: 'vc1', datacenter: 'DC2', filter: 'app-1' }),
    ]);
    assert.deepEqual(
      results.map((result) => (result.status === 'rejected' ? (result.reason as Error).message : names(result.value))),
      ['VMA down', 'VMA down', ['app-1']],
    );
  });

  it('splits a large wave into requests of at most 100 names', async () => {
    const many = Array.from({ length: 250 }, (_, index) => fakeVm(`vm-${String(index).padStart(3, '0')}`));
    const { vma, asked } = recordingVma(many);
    const discovery = coalesceDiscoveries(vma);
    const answers = await Promise.all(many.map((vm) => discovery.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: vm.name })));
    assert.deepEqual(
      asked.map((request) => request.filter?.split(',').length),
      [100, 100, 50],
    );
    assert.ok(answers.every((answer, index) => answer.length === 1 && answer[0]?.name === many[index]?.name));
  });
});
