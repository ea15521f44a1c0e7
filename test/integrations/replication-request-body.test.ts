import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReplicationType } from '../../src/domain/schedule-fields.js';
import type { StartReplicationRequest } from '../../src/integrations/replication-gateway.js';
import { buildReplicationRequestBody } from '../../src/integrations/replication-request-body.js';
import { isAmbiguousVmName, matchVmByName, pickExactVm } from '../../src/integrations/vm-name-match.js';
import { fakeVm } from '../support/fake-appliances.js';

function request(replicationType: ReplicationType): StartReplicationRequest {
  return {
    vm: fakeVm('web-1', { id: 'vm-42', path: '/DC1/vm/web-1', num_cpu: 4, memory_mb: 8192, guest_os: 'rhel9_64Guest', power_state: 'poweredOn', vmx_version: 'vmx-21' }),
    vcenterHost: 'vc1.example',
    datacenter: 'DC1',
    replicationType,
    scheduleExecutionId: 'exec-1',
    vmGroupId: 'group-1',
  };
}

describe('replication request body', () => {
  it('maps the discovered VM and configuration exactly as the OMA expects', () => {
    const vm = request('full').vm;
    assert.deepEqual(buildReplicationRequestBody(request('full'), { osseaConfigId: 7, targetNetwork: 'repl-net' }), {
      source_vm: {
        id: 'vm-42',
        name: 'web-1',
        path: '/DC1/vm/web-1',
        datacenter: 'DC1',
        cpus: 4,
        memory_mb: 8192,
        power_state: 'poweredOn',
        os_type: 'rhel9_64Guest',
        vmx_version: 'vmx-21',
        disks: vm.disks,
        networks: vm.networks,
      },
      ossea_config_id: 7,
      replication_type: 'initial',
      target_network: 'repl-net',
      vcenter_host: 'vc1.example',
      datacenter: 'DC1',
      schedule_execution_id: 'exec-1',
      vm_group_id: 'group-1',
      scheduled_by: 'scheduler-service',
      start_replication: true,
    });
  });

  it('sends incremental as incremental and omits the type for auto', () => {
    const target = { osseaConfigId: 3, targetNetwork: 'n' };
    assert.equal(buildReplicationRequestBody(request('incremental'), target).replication_type, 'incremental');
    const auto = buildReplicationRequestBody(request('auto'), target);
    assert.equal('replication_type' in auto, false);
    assert.equal(JSON.stringify(auto).includes('replication_type'), false);
  });

  it('omits target_network when none is configured', () => {
    const body = buildReplicationRequestBody(request('full'), { osseaConfigId: 3, targetNetwork: null });
    assert.equal('target_network' in body, false);
  });
});

describe('picking the VM from a discovery answer', () => {
  const answer = [fakeVm('old-web-1'), fakeVm('web-10'), fakeVm('web-1'), fakeVm('WEB-1')];

  it('takes only the exact, case-sensitive name, never the first or a substring match', () => {
    assert.equal(pickExactVm(answer, 'web-1')?.name, 'web-1');
    assert.equal(pickExactVm(answer, 'web'), null);
    assert.equal(pickExactVm(answer, 'web-2'), null);
    assert.deepEqual(matchVmByName(answer, 'web-2'), { kind: 'not_found' });
  });

  it('refuses to choose between two VMs of the same name and says it is ambiguous', () => {
    const twins = [fakeVm('db', { id: 'vm-1' }), fakeVm('db', { id: 'vm-2' })];
    assert.equal(pickExactVm(twins, 'db'), null);
    assert.equal(isAmbiguousVmName(twins, 'db'), true);
    assert.equal(isAmbiguousVmName(answer, 'web-1'), false);
    const match = matchVmByName(twins, 'db');
    assert.equal(match.kind, 'ambiguous');
    assert.deepEqual(match.kind === 'ambiguous' ? match.candidates.map((vm) => vm.id) : [], ['vm-1', 'vm-2']);
  });
});
