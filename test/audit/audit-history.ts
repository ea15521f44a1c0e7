/**
 * A small, known history recorded through the API of a test service on a manual
 * clock, for the audit tests of the API and the CLI: who did what, and when.
 *
 *   09:00 alice  creates schedule "Nightly"              (NameReserved, ScheduleCreated)
 *   10:00 bob    sets its description                    (ScheduleUpdated)
 *   11:00 alice  disables it                             (ScheduleDisabled)
 *   12:00 bob    creates machine group "Web" on it       (NameReserved, MachineGroupCreated)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient } from '../support/api-client.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestService } from '../support/test-service.js';
import type { Service } from '../../src/service.js';

export const HISTORY_START = '2026-05-01T09:00:00.000Z';

export const AUDIT_TOKENS = {
  alice: 'alice-token-0001',
  bob: 'bob-token-00002',
  carol: 'carol-token-0003',
} as const;

/** API_TOKENS for the test service: alice and bob operate, carol only views. */
export const AUDIT_API_TOKENS = `alice:operator:${AUDIT_TOKENS.alice},bob:operator:${AUDIT_TOKENS.bob},carol:viewer:${AUDIT_TOKENS.carol}`;

export interface AuditHistory {
  scheduleId: string;
  groupId: string;
}

const at = (hour: number) => `2026-05-01T${String(hour).padStart(2, '0')}:00:00.000Z`;

/** Records the history; the clock must start at HISTORY_START. */
export async function recordAuditHistory(service: Service, clock: ManualClock): Promise<AuditHistory> {
  const alice = apiClient(service.app, { token: AUDIT_TOKENS.alice });
  const bob = apiClient(service.app, { token: AUDIT_TOKENS.bob });
  assert.equal(clock.now().toISOString(), HISTORY_START);
  const created = await alice.post('/schedules', { name: 'Nightly', cron_expression: '0 2 * * *' });
  assert.equal(created.status, 201);
  const scheduleId = String(created.body.id);
  clock.set(at(10));
  assert.equal((await bob.patch(`/schedules/${scheduleId}`, { description: 'nightly run' })).status, 200);
  clock.set(at(11));
  assert.equal((await alice.post(`/schedules/${scheduleId}/enable`, { enabled: false })).status, 200);
  clock.set(at(12));
  const group = await bob.post('/machine-groups', { name: 'Web', schedule_id: scheduleId });
  assert.equal(group.status, 201);
  return { scheduleId, groupId: String(group.body.id) };
}

/** A DATA_DIR holding the history in SQLite, written by a service that is stopped again: what the CLI reads. */
export async function auditHistoryDataDir(): Promise<AuditHistory & { dataDir: string; remove(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'audit-history-'));
  const clock = new ManualClock(HISTORY_START);
  const service = await startTestService('sqlite', { DATA_DIR: dataDir, API_TOKENS: AUDIT_API_TOKENS }, { ticker: false, processManager: false, clock });
  try {
    const history = await recordAuditHistory(service, clock);
    return { ...history, dataDir, remove: () => rm(dataDir, { recursive: true, force: true }) };
  } finally {
    await service.dispose();
  }
}
