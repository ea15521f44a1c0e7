import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { logLength, startTestService, type TestService } from '../support/test-service.js';

const TOKENS = 'alice:viewer:viewer-secret-1,bob:operator:operator-secret-1,carol:admin:admin-secret-1';

describe('auth with roles from API_TOKENS', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService('sqlite', { API_TOKENS: TOKENS });
  });
  after(async () => service.dispose());

  it('answers 401 without a token or with an unknown one, in the error shape', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer not-a-token' }, { authorization: 'Basic abc' }];
    for (const headers of attempts) {
      const answer = await apiClient(service.app).get('/schedules', headers);
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'Unauthorized');
      assert.equal(answer.body.request_id, answer.headers['x-request-id']);
    }
  });

  it('lets a viewer read but not write (403), an operator write, and stamps the actor', async () => {
    const viewer = apiClient(service.app, { token: 'viewer-secret-1' });
    const operator = apiClient(service.app, { token: 'operator-secret-1' });
    assert.equal((await viewer.get('/schedules')).status, 200);
    const refused = await viewer.post('/schedules', { name: 'By viewer', cron_expression: '0 1 * * *' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'Forbidden');
    const created = await operator.post('/schedules', { name: 'By operator', cron_expression: '0 1 * * *' });
    assert.equal(created.status, 201);
    assert.equal(created.body.created_by, 'bob');
    const history = await viewer.get(`/schedules/${created.body.id}/history`);
    assert.equal(history.body.events[0].metadata.actor, 'bob');
    assert.equal((await viewer.post('/schedules/preview', { cron_expression: '0 1 * * *' })).status, 200, 'a preview is a read');
  });

  it('keeps health routes open for probes', async () => {
    assert.equal((await apiClient(service.app).get('/health/live')).status, 200);
    assert.equal((await apiClient(service.app).get('/health/ready')).status, 200);
  });
});

describe('Idempotency-Key', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService('sqlite');
  });
  after(async () => service.dispose());

  it('returns the first answer for a repeated key and appends nothing', async () => {
    const api = apiClient(service.app);
    const body = { name: 'Idempotent', cron_expression: '0 1 * * *' };
    const first = await api.post('/schedules', body, { 'idempotency-key': 'create-idempotent-1' });
    assert.equal(first.status, 201);
    const eventsAfterFirst = await logLength(service);
    const repeat = await api.post('/schedules', body, { 'idempotency-key': 'create-idempotent-1' });
    assert.equal(repeat.status, 201);
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.headers['idempotent-replayed'], 'true');
    assert.equal(await logLength(service), eventsAfterFirst);
    assert.equal((await api.get('/schedules')).body.total_count, 1);
  });

  it('refuses a reused key with a different body', async () => {
    const api = apiClient(service.app);
    await api.post('/schedules', { name: 'Key A', cron_expression: '0 1 * * *' }, { 'idempotency-key': 'reused-key' });
    const other = await api.post('/schedules', { name: 'Key B', cron_expression: '0 1 * * *' }, { 'idempotency-key': 'reused-key' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error, 'Conflict');
  });

  it('replays a refusal too, and never stores a key for reads', async () => {
    const api = apiClient(service.app);
    const body = { name: 'Idempotent', cron_expression: '0 1 * * *' };
    const refused = await api.post('/schedules', body, { 'idempotency-key': 'dup-name' });
    assert.equal(refused.status, 409);
    const again = await api.post('/schedules', body, { 'idempotency-key': 'dup-name' });
    assert.deepEqual([again.status, again.body.message], [409, refused.body.message]);
    assert.equal((await api.get('/schedules', { 'idempotency-key': 'read-key' })).status, 200);
  });
});
