import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { openReplicationGateway } from '../../src/integrations/open-replication-gateway.js';

describe('choosing the replication gateway', () => {
  it('simulates when no appliance is configured, and says so', async () => {
    const gateway = openReplicationGateway(loadIntegrationConfig({}), { clock: systemClock, inventory: async () => [] });
    assert.equal(gateway.mode, 'simulator');
    assert.match(gateway.mode === 'simulator' ? gateway.banner : '', /SIMULATION MODE/);
    assert.equal((await gateway.discovery.discover({ vcenter: 'vc', datacenter: 'DC' })).length, 5);
  });

  it('uses the HTTP clients when both appliances are configured', () => {
    const config = loadIntegrationConfig({ OMA_API_URL: 'http://oma:8082', OMA_API_TOKEN: 'token-123', OMA_OSSEA_CONFIG_ID: '2', VMA_API_URL: 'http://vma:8081' });
    assert.equal(openReplicationGateway(config, { clock: systemClock, inventory: async () => [] }).mode, 'appliances');
  });
});
