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

  it('serves Prometheus metrics: due-to-record lag, HTTP latency, executions and jobs by status', async () => {
    const api = apiClient(service.app);
    const created = await api.post('/schedules', { name: 'Every second', cron_expression: '* * * * * *' });
    assert.equal(created.status, 201);
    let text = '';
    for (let waited = 0; waited < 5000; waited += 100) {
      const response = await service.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      text = response.body;
      if (/^scheduler_due_to_record_lag_seconds_count [1-9]/m.test(text)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(text, /^scheduler_due_to_record_lag_seconds_count [1-9]/m, 'the ticker recorded a due instant and its lag');
    assert.match(text, /^scheduler_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/schedules",status_code="201"\} 1$/m);
    assert.match(text, /^# TYPE scheduler_executions gauge$/m);
    assert.match(text, /^# TYPE scheduler_jobs gauge$/m);
    assert.match(text, /^scheduler_projection_lag_events\{projection="schedules"\} \d+$/m);
    assert.match(text, /^scheduler_ticker_last_loop_timestamp_seconds [1-9]/m);
    await api.post(`/schedules/${created.body.id}/enable`, { enabled: false });
  });

  it('fails readiness, naming the ticker, once the ticker has stopped', async () => {
    await service.ticker?.stop();
    const notReady = await apiClient(service.app).get('/health/ready');
    assert.equal(notReady.status, 503);
    assert.deepEqual(notReady.body.failing, ['ticker']);
    assert.equal((await apiClient(service.app).get('/health/live')).status, 200, 'the process itself still lives');
  });
});
