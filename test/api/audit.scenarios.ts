/** Audit API scenarios (GET /audit/events, GET /audit/streams/{stream}), run on every backend (see audit.*.test.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestService, type Backend, type TestService } from '../support/test-service.js';
import { AUDIT_API_TOKENS, AUDIT_TOKENS, HISTORY_START, recordAuditHistory, type AuditHistory } from '../audit/audit-history.js';

type EventAnswer = { id: string; position: string; stream: string; revision: number; type: string; data: Record<string, unknown>; metadata: Record<string, unknown>; recorded_at: string };

export function auditScenarios(backend: Backend): void {
  describe(`audit API on ${backend}`, () => {
    let service: TestService;
    let viewer: ApiClient;
    let history: AuditHistory;
    let schedule: string;
    before(async () => {
      const clock = new ManualClock(HISTORY_START);
      service = await startTestService(backend, { API_TOKENS: AUDIT_API_TOKENS }, { ticker: false, processManager: false, clock });
      history = await recordAuditHistory(service, clock);
      schedule = `schedule-${history.scheduleId}`;
      viewer = apiClient(service.app, { token: AUDIT_TOKENS.carol });
    });
    after(async () => service.dispose());

    const events = async (query: string): Promise<EventAnswer[]> => {
      const answer = await viewer.get(`/audit/events${query}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body.events as EventAnswer[];
    };

    it('lists the whole log in order, with position, stream, revision, data and metadata, to a viewer', async () => {
      const all = await events('');
      assert.deepEqual(
        all.filter((event) => !event.stream.startsWith('reservation-')).map((event) => [event.type, event.metadata.actor, event.metadata.timestamp]),
        [
          ['ScheduleCreated', 'alice', '2026-05-01T09:00:00.000Z'],
          ['ScheduleUpdated', 'bob', '2026-05-01T10:00:00.000Z'],
          ['ScheduleDisabled', 'alice', '2026-05-01T11:00:00.000Z'],
          ['MachineGroupCreated', 'bob', '2026-05-01T12:00:00.000Z'],
        ],
      );
      assert.equal(all.filter((event) => event.type === 'NameReserved').length, 2);
      const updated = all.find((event) => event.type === 'ScheduleUpdated')!;
      assert.equal(updated.stream, schedule);
      assert.equal(updated.revision, 1);
      assert.deepEqual(updated.data.changes, { description: 'nightly run' });
      assert.equal(updated.metadata.source, 'api');
      assert.equal(typeof updated.recorded_at, 'string');
      const positions = all.map((event) => event.position);
      const sorted = [...positions].sort((a, b) => service.store.comparePositions(a, b));
      assert.deepEqual(positions, sorted, 'oldest first');
    });

    it('filters by stream, stream prefix, type, actor and time range', async () => {
      assert.deepEqual((await events(`?stream=${schedule}`)).map((event) => event.revision), [0, 1, 2]);
      assert.deepEqual((await events('?stream=group-*')).map((event) => event.type), ['MachineGroupCreated']);
      assert.deepEqual((await events('?type=ScheduleUpdated,MachineGroupCreated')).map((event) => event.type), ['ScheduleUpdated', 'MachineGroupCreated']);
      assert.deepEqual((await events('?type=ScheduleUpdated&type=ScheduleDisabled')).map((event) => event.type), ['ScheduleUpdated', 'ScheduleDisabled']);
      assert.deepEqual((await events('?actor=bob&type=ScheduleUpdated,MachineGroupCreated,ScheduleCreated')).map((event) => event.type), ['ScheduleUpdated', 'MachineGroupCreated']);
      // from inclusive, to exclusive.
      assert.deepEqual((await events('?from=2026-05-01T10:00:00Z&to=2026-05-01T11:00:00Z')).map((event) => event.type), ['ScheduleUpdated']);
    });

    it('pages by position: next_after_position leads through every event once', async () => {
      const all = await events('');
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let request = 0; request < 10; request++) {
        const answer = await viewer.get(`/audit/events?limit=2${cursor === null ? '' : `&after_position=${cursor}`}`);
        assert.equal(answer.status, 200);
        assert.equal(answer.body.page_size, 2);
        seen.push(...(answer.body.events as EventAnswer[]).map((event) => event.id));
        if (!answer.body.has_more) {
          assert.equal(answer.body.next_after_position, null);
          break;
        }
        cursor = answer.body.next_after_position as string;
      }
      assert.deepEqual(seen, all.map((event) => event.id));
    });

    it('refuses bad filters in the error shape', async () => {
      const badFrom = await viewer.get('/audit/events?from=yesterday');
      assert.equal(badFrom.status, 400);
      assert.equal(badFrom.body.error, 'ValidationError');
      assert.equal(typeof badFrom.body.request_id, 'string');
      assert.equal((await viewer.get('/audit/events?from=2026-05-01T11:00:00Z&to=2026-05-01T10:00:00Z')).status, 400);
      // A position of the other kind of store: EventStoreDB's "commit/prepare" or the SQL stores' sequence number.
      const badPosition = await viewer.get(`/audit/events?after_position=${backend === 'esdb' ? '12' : '12/34'}`);
      assert.equal(badPosition.status, 400);
      assert.match(badPosition.body.message, /not a position/);
      assert.equal((await viewer.get('/audit/events?limit=501')).status, 400);
      assert.equal((await viewer.get('/audit/events?colour=red')).status, 400);
    });

    it('asks for a token', async () => {
      const anonymous = await apiClient(service.app).get('/audit/events');
      assert.equal(anonymous.status, 401);
    });

    it("answers a schedule's state as of an instant, with the events that made it", async () => {
      const answer = await viewer.get(`/audit/streams/${schedule}?as_of=2026-05-01T10:30:00Z`);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.stream, schedule);
      assert.equal(answer.body.aggregate, 'schedule');
      assert.equal(answer.body.as_of, '2026-05-01T10:30:00.000Z');
      assert.equal(answer.body.revision, 1);
      assert.equal(answer.body.event_count, 2);
      assert.equal(answer.body.state.status, 'active');
      assert.equal(answer.body.state.settings.description, 'nightly run');
      assert.equal(answer.body.state.settings.enabled, true, 'disabled only at 11:00');
      assert.deepEqual((answer.body.events as EventAnswer[]).map((event) => event.type), ['ScheduleCreated', 'ScheduleUpdated']);

      const atDisable = await viewer.get(`/audit/streams/${schedule}?as_of=2026-05-01T11:00:00Z`);
      assert.equal(atDisable.body.state.settings.enabled, false, 'as_of is inclusive');
      const before = await viewer.get(`/audit/streams/${schedule}?as_of=2026-05-01T08:00:00Z`);
      assert.equal(before.status, 200);
      assert.deepEqual(before.body.state, { status: 'absent' });
      assert.equal(before.body.event_count, 0);
      assert.equal(before.body.revision, null);
      const now = await viewer.get(`/audit/streams/${schedule}`);
      assert.equal(now.body.event_count, 3, 'without as_of: now');
      const newest = await viewer.get(`/audit/streams/${schedule}?limit=1`);
      assert.deepEqual((newest.body.events as EventAnswer[]).map((event) => event.type), ['ScheduleDisabled'], 'limit keeps the newest events');
      assert.equal(newest.body.event_count, 3);
      const group = await viewer.get(`/audit/streams/group-${history.groupId}`);
      assert.equal(group.body.aggregate, 'machine-group');
      assert.equal(group.body.state.settings.name, 'Web');
    });

    it('answers 404 for an unknown stream and 400 for a bad as_of', async () => {
      const unknown = await viewer.get('/audit/streams/schedule-nope');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error, 'NotFound');
      assert.match(unknown.body.message, /schedule-nope has no events/);
      const foreign = await viewer.get('/audit/streams/ticket-1');
      assert.equal(foreign.status, 404);
      assert.match(foreign.body.message, /not a stream of any aggregate/);
      for (const asOf of ['yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z']) {
        const bad = await viewer.get(`/audit/streams/${schedule}?as_of=${asOf}`);
        assert.equal(bad.status, 400, asOf);
        assert.equal(bad.body.error, 'ValidationError');
      }
    });
  });
}
