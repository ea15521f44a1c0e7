/** `npm run cli -- replay`: an aggregate as of an instant, run in-process on a DATA_DIR the service wrote. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { auditHistoryDataDir } from '../audit/audit-history.js';
import { capturedIo } from './captured-io.js';

/** The parts of the folded states the tests look at. */
interface ReplayedState {
  status?: string;
  settings?: { description?: string | null; enabled?: boolean; name?: string; schedule_id?: string | null };
  holder?: string | null;
}

describe('cli replay', () => {
  let history: Awaited<ReturnType<typeof auditHistoryDataDir>>;
  let schedule: string;
  before(async () => {
    history = await auditHistoryDataDir();
    schedule = `schedule-${history.scheduleId}`;
  });
  after(async () => history.remove());

  const run = async (args: string[]) => {
    const io = capturedIo({ DATA_DIR: history.dataDir, LOG_LEVEL: 'silent' });
    const status = await runCli(['replay', ...args], io);
    return { status, stdout: io.stdout(), stderr: io.stderr() };
  };
  const json = async (args: string[]) => {
    const result = await run([...args, '--format', 'json']);
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as { stream: string; aggregate: string; as_of: string; revision: number | null; event_count: number; state: ReplayedState; events: Array<{ type: string; revision: number }> };
  };

  it("folds a schedule's stream up to the instant: its state then and the events that made it", async () => {
    const halfPastTen = await json([schedule, '--as-of', '2026-05-01T10:30:00Z']);
    assert.equal(halfPastTen.aggregate, 'schedule');
    assert.equal(halfPastTen.as_of, '2026-05-01T10:30:00.000Z');
    assert.equal(halfPastTen.revision, 1);
    assert.equal(halfPastTen.event_count, 2);
    assert.deepEqual(halfPastTen.events.map((event) => event.type), ['ScheduleCreated', 'ScheduleUpdated']);
    assert.equal(halfPastTen.state.status, 'active');
    assert.equal(halfPastTen.state.settings?.description, 'nightly run');
    assert.equal(halfPastTen.state.settings?.enabled, true);

    const eleven = await json([schedule, '--as-of', '2026-05-01T12:00:00+01:00']);
    assert.equal(eleven.state.settings?.enabled, false, 'the instant is inclusive, in any zone');
    const before = await json([schedule, '--as-of', '2026-05-01T08:59:59.999Z']);
    assert.deepEqual([before.state, before.event_count, before.revision, before.events], [{ status: 'absent' }, 0, null, []]);
    const now = await json([schedule]);
    assert.equal(now.event_count, 3, 'without --as-of: now');
  });

  it('picks the decider from the stream prefix', async () => {
    const group = await json([`group-${history.groupId}`]);
    assert.equal(group.aggregate, 'machine-group');
    assert.equal(group.state.settings?.name, 'Web');
    assert.equal(group.state.settings?.schedule_id, history.scheduleId);
    const reservation = await json(['reservation-group-name-web']);
    assert.equal(reservation.aggregate, 'reservation');
    assert.equal(reservation.state.holder, history.groupId);
  });

  it('prints the events as a table, then the state', async () => {
    const result = await run([schedule, '--as-of', '2026-05-01T10:30:00Z']);
    assert.equal(result.status, 0, result.stderr);
    const [header, first, second, blank, summary, ...state] = result.stdout.trimEnd().split('\n');
    assert.match(header!, /^POSITION +TIME +STREAM +TYPE +ACTOR +DATA$/);
    assert.match(first!, /ScheduleCreated +alice/);
    assert.match(second!, /ScheduleUpdated +bob/);
    assert.equal(blank, '');
    assert.equal(summary, `${schedule} (schedule) as of 2026-05-01T10:30:00.000Z: 2 events, revision 1`);
    assert.equal((JSON.parse(state.join('\n')) as { settings: { description: string } }).settings.description, 'nightly run');
  });

  it('says so and exits 1 for a stream that is unknown or has no events', async () => {
    const empty = await run(['schedule-nope']);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /stream schedule-nope has no events/);
    const foreign = await run(['ticket-1']);
    assert.equal(foreign.status, 1);
    assert.match(foreign.stderr, /ticket-1 is not a stream of any aggregate \(their ids start with schedule-, group-, vm-, execution-, reservation-\)/);
    assert.equal(foreign.stdout, '');
  });

  it('refuses a bad instant, a missing stream or a bad format with exit status 2', async () => {
    for (const [args, message] of [
      [[schedule, '--as-of', 'yesterday'], /--as-of: not an ISO-8601 instant/],
      [[schedule, '--as-of', '2026-02-30T00:00:00Z'], /--as-of: not an ISO-8601 instant/],
      [['--as-of', '2026-05-01T10:00:00Z'], /say which stream/],
      [[schedule, '--format', 'yaml'], /--format must be table or json/],
      [[schedule, 'group-1'], /unexpected argument: group-1/],
    ] as Array<[string[], RegExp]>) {
      const result = await run(args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, message);
    }
  });
});
