/**
 * The phantom scan end to end: the whole service in-process on a manual clock
 * against the fake VMA/OMA over real HTTP, with a PhantomScanner built on the
 * service's store, read model, gateway and clock (as service.ts wires it), and
 * POST /jobs/phantom-scan on an app that has it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDetails } from '../../src/domain/execution.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { PhantomScanner } from '../../src/processes/phantom-scanner.js';
import { apiClient } from '../support/api-client.js';
import { ended, harness } from '../support/e2e-harness.js';
import { driveUntil } from '../support/manual-clock.js';

for (const backend of ['sqlite', 'mariadb'] as const) describe(`phantom scan, end to end, on ${backend}`, () => {
  it('a job the VMA forgets is recorded as a phantom by the scan; the VM is retried after the backoff and completes', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['ghost-1'], scripts: { 'ghost-1': { pollsToFinish: 50 } } });
    const integration = loadIntegrationConfig({});
    const scanner = new PhantomScanner(
      { store: h.service.store, readDb: h.service.readDb, gateway: h.service.gateway, clock: h.clock, timers: h.clock, logger: h.service.logger.child({ component: 'phantom-scanner' }) },
      { intervalSeconds: integration.phantomScanIntervalSeconds, thresholds: integration.phantom },
    );
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: h.dataDir, LOG_LEVEL: 'silent' }),
      logger: h.service.logger,
      store: h.service.store,
      readDb: h.service.readDb,
      projections: h.service.projections,
      ticker: h.service.ticker,
      clock: h.clock,
      discovery: h.service.gateway.discovery,
      phantomScanner: scanner,
    });
    try {
      const api = apiClient(app);
      const scheduleId = await h.createSchedule({ retry_attempts: 1, retry_delay_minutes: 5 });
      const groupId = await h.createGroup(scheduleId);
      await h.assign(groupId, await h.registerVm('ghost-1'));
      const executionId = String((await h.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);

      await h.runUntil(async () => {
        const s = await h.execution(executionId);
        return s.status !== 'absent' && s.vms.at(0)?.phase === 'running';
      }, 60_000);
      const jobId = h.fake.jobs()[0]!.jobId;
      await h.service.projections.waitForPosition((await h.service.store.headPosition())!, 5000);

      // Nothing to find while the VMA knows the job; a VMA 500 is an error of the check, not a phantom.
      const valid = await api.post('/jobs/phantom-scan', {});
      assert.equal(valid.status, 200, JSON.stringify(valid.body));
      assert.deepEqual(valid.body, { scanned: 1, phantom: 0, valid: 1, errors: 0, phantom_job_ids: [] });
      // The gateway retries a read twice on a 5xx: three failures in a row reach the scan.
      h.fake.failNext('vma_status', 3, 500);
      assert.deepEqual((await api.post('/jobs/phantom-scan', {})).body, { scanned: 1, phantom: 0, valid: 0, errors: 1, phantom_job_ids: [] });

      // The VMA forgets the job: the scan (before the next OMA poll) records it as a phantom (rule 1).
      h.fake.forgetJob(jobId);
      const scan = await api.post('/jobs/phantom-scan');
      assert.equal(scan.status, 200, JSON.stringify(scan.body));
      assert.deepEqual(scan.body, { scanned: 1, phantom: 1, valid: 0, errors: 0, phantom_job_ids: [jobId] });

      const events = await h.service.store.readStream(streamIds.execution(executionId));
      const failed = events.find((e) => e.type === 'JobFailed');
      assert.equal(failed?.data.job_id, jobId);
      assert.equal(failed?.data.phantom_reason, 'vma_not_found');
      assert.match(String(failed?.data.error_message), /^phantom job \(vma_not_found\)/);
      const waiting = await h.execution(executionId);
      assert.ok(waiting.status === 'running');
      assert.equal(waiting.vms.at(0)?.phase, 'waiting_retry', 'the attempt failed; the slot is free and the retry waits');
      const retryAt = Date.parse(waiting.vms.at(0)!.retry_at!);
      assert.equal(retryAt - h.clock.now().getTime(), 5 * 60_000);
      await h.service.projections.waitForPosition((await h.service.store.headPosition())!, 5000);
      const job = await h.api.get(`/jobs/${jobId}`);
      assert.equal(job.body.status, 'failed');
      assert.equal(job.body.phantom_reason, 'vma_not_found');

      // No retry before the backoff; then a fresh job that completes.
      await driveUntil(h.clock, [h.service.ticker!, h.service.processManager!], retryAt - 1000);
      assert.equal(h.fake.replicationPosts().length, 1, 'no retry before retry_at');
      h.fake.setScript('ghost-1', { pollsToFinish: 2 });
      await h.runUntil(async () => ended(await h.execution(executionId)), 10 * 60_000);
      const state = await h.execution(executionId);
      assert.ok(state.status !== 'absent');
      assert.equal(state.status, 'completed');
      assert.equal(h.fake.replicationPosts().length, 2);
      assert.ok(h.fake.replicationPosts()[1]!.receivedAt >= h.fake.replicationPosts()[0]!.receivedAt);
      const detail = executionDetails(state)[0]!;
      assert.equal(detail.outcome, 'completed');
      assert.equal(detail.attempts, 2);
      assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed, state.ended?.jobs_failed], [2, 1, 0]);
      // The phantom stays recorded once: the OMA poll of the forgotten job found it ended.
      const phantoms = (await h.service.store.readStream(streamIds.execution(executionId))).filter((e) => e.type === 'JobFailed');
      assert.equal(phantoms.length, 1);

      await h.service.projections.waitForPosition((await h.service.store.headPosition())!, 5000);
      assert.deepEqual((await api.post('/jobs/phantom-scan', {})).body, { scanned: 0, phantom: 0, valid: 0, errors: 0, phantom_job_ids: [] });
    } finally {
      await scanner.stop();
      await app.close();
    }
  });
});
