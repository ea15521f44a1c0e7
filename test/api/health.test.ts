import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { startTestService, type TestService } from '../support/test-service.js';

describe('readiness', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService('sqlite', {}, { ticker: true });
  });
  after(async () => service.dispose());

  it('is ready when the stores answer, projections keep up and the ticker loops', async () => {
    const ready = await apiClient(service.app).get('/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.failing, []);
    assert.equal(ready.body.checks.ticker.running, true);
    assert.equal(ready.body.checks.ticker.healthy, true);
  });

  it('fails readiness, naming the ticker, once the ticker has stopped', async () => {
    await service.ticker?.stop();
    const notReady = await apiClient(service.app).get('/health/ready');
    assert.equal(notReady.status, 503);
    assert.deepEqual(notReady.body.failing, ['ticker']);
    assert.equal((await apiClient(service.app).get('/health/live')).status, 200, 'the process itself still lives');
  });
});
