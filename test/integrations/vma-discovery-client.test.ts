import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GatewayError, MissingCredentialsError } from '../../src/integrations/gateway-errors.js';
import { createVmaDiscoveryClient, type VmaClientOptions } from '../../src/integrations/vma-discovery-client.js';
import { pickExactVm } from '../../src/integrations/vm-name-match.js';
import { fakeVm, startFakeAppliances, type FakeAppliances } from '../support/fake-appliances.js';
import { closedPortUrl, recordedRetries, startEchoServer } from './gateway-test-helpers.js';

const PASSWORD = 'vc-Pa55word!';
const CREDENTIALS = { 'vc1.example': { username: 'svc-repl', password: PASSWORD } };

describe('VMA discovery client', () => {
  let fake: FakeAppliances;
  let retries: ReturnType<typeof recordedRetries>;
  const client = (overrides: Partial<VmaClientOptions> = {}) =>
    createVmaDiscoveryClient({ baseUrl: fake.url, vcenterCredentials: CREDENTIALS, requestTimeoutMs: 2000, readRetries: retries, ...overrides });

  before(async () => {
    fake = await startFakeAppliances({
      vms: [fakeVm('old-web-1'), fakeVm('web-10'), fakeVm('web-1', { id: 'vm-web-1' }), fakeVm('db-1'), fakeVm('web-1', { datacenter: 'DC2', id: 'vm-other' })],
      vcenterCredentials: CREDENTIALS,
    });
  });
  after(() => fake.close());
  beforeEach(() => {
    retries = recordedRetries();
  });

  it('sends the configured credentials and picks the exact name among substring matches', async () => {
    const vms = await client().discover({ vcenter: 'VC1.example', datacenter: 'DC1', filter: 'web-1' });
    assert.deepEqual(
      vms.map((vm) => vm.name),
      ['old-web-1', 'web-10', 'web-1'],
    );
    assert.equal(pickExactVm(vms, 'web-1')?.id, 'vm-web-1');
    assert.deepEqual(vms.find((vm) => vm.name === 'web-1'), fakeVm('web-1', { id: 'vm-web-1' }));
    const sent = fake.discoveries().at(-1)?.body;
    assert.deepEqual(sent, { vcenter: 'VC1.example', username: 'svc-repl', password: PASSWORD, datacenter: 'DC1', filter: 'web-1' });
  });

  it('refuses a vCenter without configured credentials, naming it, before any request', async () => {
    const before = fake.discoveries().length;
    await assert.rejects(client().discover({ vcenter: 'vc9.example', datacenter: 'DC1' }), (error: unknown) => {
      assert.ok(error instanceof MissingCredentialsError);
      assert.equal(error.vcenterHost, 'vc9.example');
      assert.match(error.message, /vc9\.example/);
      return true;
    });
    assert.equal(fake.discoveries().length, before);
  });

  it('retries a 500 and then succeeds', async () => {
    fake.failNext('discover', 1, 500);
    const before = fake.discoveries().length;
    const vms = await client().discover({ vcenter: 'vc1.example', datacenter: 'DC1', filter: 'db' });
    assert.deepEqual(
      vms.map((vm) => vm.name),
      ['db-1'],
    );
    assert.equal(fake.discoveries().length - before, 2);
    assert.deepEqual(retries.waits, [5]);
  });

  it('gives up after two retries with an http_error', async () => {
    fake.failNext('discover', 3, 503);
    await assert.rejects(client().discover({ vcenter: 'vc1.example', datacenter: 'DC1' }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'http_error');
      assert.equal(error.status, 503);
      return true;
    });
    assert.deepEqual(retries.waits, [5, 10]);
  });

  it('does not retry a 4xx (wrong credentials)', async () => {
    const before = fake.discoveries().length;
    const wrong = { 'vc1.example': { username: 'svc-repl', password: 'wrong-password' } };
    await assert.rejects(client({ vcenterCredentials: wrong }).discover({ vcenter: 'vc1.example', datacenter: 'DC1' }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.status, 401);
      assert.ok(!error.message.includes('wrong-password'), error.message);
      return true;
    });
    assert.equal(fake.discoveries().length - before, 1);
  });

  it('never puts the password in an error, even when the VMA echoes it', async () => {
    const echo = await startEchoServer(400);
    try {
      await assert.rejects(client({ baseUrl: echo.url }).discover({ vcenter: 'vc1.example', datacenter: 'DC1' }), (error: unknown) => {
        assert.ok(error instanceof GatewayError);
        assert.equal(error.kind, 'http_error');
        assert.match(error.message, /^VMA POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/discover: HTTP 400 cannot do that/);
        assert.ok(!error.message.includes(PASSWORD), error.message);
        return true;
      });
    } finally {
      await echo.close();
    }
  });

  it('reports an unreachable VMA after retrying', async () => {
    await assert.rejects(client({ baseUrl: await closedPortUrl() }).jobStatus('job-1'), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.details.requestMayHaveArrived, false);
      return true;
    });
    assert.deepEqual(retries.waits, [5, 10]);
  });

  it('reports an answer of the wrong shape as bad_response naming the field', async () => {
    fake.failNext('vma_status', 1, 200);
    await assert.rejects(client().jobStatus('anything'), (error: unknown) => error instanceof GatewayError && error.kind === 'bad_response');
    fake.setInventory([{ ...fakeVm('broken'), memory_mb: 'lots' as unknown as number }]);
    await assert.rejects(client().discover({ vcenter: 'vc1.example', datacenter: 'DC1' }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'bad_response');
      assert.match(error.message, /\$\.vms\[0\]\.memory_mb: expected a number/);
      return true;
    });
  });

  it("answers 'unknown' when the VMA does not know the job, and the status when it does", async () => {
    assert.equal(await client().jobStatus('no-such-job'), 'unknown');
    const created = await fetch(`${fake.url}/api/v1/replications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source_vm: { id: 'vm-x', name: 'x', path: '/DC1/vm/x' }, ossea_config_id: 1 }),
    });
    const { job_id: jobId } = (await created.json()) as { job_id: string };
    const status = await client().jobStatus(jobId);
    assert.notEqual(status, 'unknown');
    assert.deepEqual(status === 'unknown' ? null : [status.jobId, status.status, status.vmPath], [jobId, 'running', '/DC1/vm/x']);
    fake.forgetJob(jobId);
    assert.equal(await client().jobStatus(jobId), 'unknown');
  });
});
