/** `npm run cli -- events`: the event log through the CLI, run in-process on a DATA_DIR the service wrote. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { auditHistoryDataDir } from '../audit/audit-history.js';
import { capturedIo } from './captured-io.js';

type EventLine = { id: string; position: string; stream: string; revision: number; type: string; data: Record<string, unknown>; metadata: { actor: string; timestamp: string } };

describe('cli events', () => {
  let history: Awaited<ReturnType<typeof auditHistoryDataDir>>;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    history = await auditHistoryDataDir();
    env = { DATA_DIR: history.dataDir, LOG_LEVEL: 'silent' };
  });
  after(async () => history.remove());

  const run = async (args: string[], options: { isTTY?: boolean } = {}) => {
    const io = capturedIo(env, options);
    const status = await runCli(['events', ...args], io);
    return { status, stdout: io.stdout(), stderr: io.stderr() };
  };
  const lines = async (args: string[]): Promise<EventLine[]> => {
    const result = await run(['--format', 'jsonl', ...args]);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as EventLine);
  };
  const types = async (args: string[]) => (await lines(args)).map((event) => event.type);

  it('prints every event as JSON lines, oldest first, when output is not a terminal', async () => {
    const result = await run([]);
    assert.equal(result.status, 0);
    const all = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as EventLine);
    assert.deepEqual(
      all.filter((event) => !event.stream.startsWith('reservation-')).map((event) => [event.type, event.metadata.actor]),
      [
        ['ScheduleCreated', 'alice'],
        ['ScheduleUpdated', 'bob'],
        ['ScheduleDisabled', 'alice'],
        ['MachineGroupCreated', 'bob'],
      ],
    );
    const updated = all.find((event) => event.type === 'ScheduleUpdated')!;
    assert.equal(updated.stream, `schedule-${history.scheduleId}`);
    assert.equal(updated.revision, 1);
    assert.deepEqual(updated.data.changes, { description: 'nightly run' });
  });

  it('filters by stream, stream prefix, type, actor, time range, position and count', async () => {
    assert.deepEqual((await lines(['--stream', `schedule-${history.scheduleId}`])).map((event) => event.revision), [0, 1, 2]);
    assert.deepEqual(await types(['--stream', 'group-*']), ['MachineGroupCreated']);
    assert.deepEqual(await types(['--type', 'ScheduleUpdated,MachineGroupCreated']), ['ScheduleUpdated', 'MachineGroupCreated']);
    assert.deepEqual(await types(['--type', 'ScheduleDisabled', '--type', 'ScheduleCreated']), ['ScheduleCreated', 'ScheduleDisabled']);
    assert.deepEqual(await types(['--actor', 'alice', '--stream', 'schedule-*']), ['ScheduleCreated', 'ScheduleDisabled']);
    assert.deepEqual(await types(['--from', '2026-05-01T10:00:00Z', '--to', '2026-05-01T12:00:00+01:00']), ['ScheduleUpdated'], '--from inclusive, --to exclusive');
    const all = await lines([]);
    const third = all[2]!;
    assert.deepEqual((await lines(['--after', third.position])).map((event) => event.id), all.slice(3).map((event) => event.id));
    assert.deepEqual((await lines(['--limit', '2'])).map((event) => event.id), all.slice(0, 2).map((event) => event.id));
    assert.deepEqual(await lines(['--stream', 'schedule-none']), []);
  });

  it('prints an aligned table on a terminal, or when asked', async () => {
    for (const result of [await run(['--stream', 'schedule-*'], { isTTY: true }), await run(['--stream', 'schedule-*', '--format', 'table'])]) {
      assert.equal(result.status, 0);
      const [header, ...rows] = result.stdout.trimEnd().split('\n');
      assert.match(header!, /^POSITION +TIME +STREAM +TYPE +ACTOR +DATA$/);
      assert.equal(rows.length, 3);
      for (const column of ['TIME', 'STREAM', 'TYPE', 'ACTOR', 'DATA']) {
        const start = header!.indexOf(column);
        for (const row of rows) assert.ok(row[start - 1] === ' ' && row[start] !== ' ', `column ${column} starts where its title does in "${row}"`);
      }
      const disabled = rows.find((row) => row.includes('ScheduleDisabled'))!;
      assert.equal(disabled.slice(header!.indexOf('TIME')).split(/ +/)[0], '2026-05-01T11:00:00.000Z');
      assert.equal(disabled.slice(header!.indexOf('ACTOR')).split(/ +/)[0], 'alice');
      assert.ok(disabled.slice(header!.indexOf('DATA')).startsWith('{"schedule_id":'));
    }
  });

  it('refuses bad options with exit status 2 and says which', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--from', 'yesterday'], /--from: not an ISO-8601 instant/],
      [['--from', '2026-05-01T11:00:00Z', '--to', '2026-05-01T10:00:00Z'], /--from must be before --to/],
      [['--limit', '0'], /--limit must be a positive whole number/],
      [['--format', 'xml'], /--format must be table or jsonl/],
      [['--after', 'last'], /--after: last is not a position/],
      [['--colour', 'red'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, message);
      assert.match(result.stderr, /npm run cli -- events --help/);
    }
  });

  it('runs as `npx tsx src/cli/main.ts events --help` in a process of its own', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli/main.ts', 'events', '--help'], { cwd: process.cwd(), env: { ...process.env, ...env } });
    assert.match(stdout, /^Usage: npm run cli -- events \[options\]/);
    assert.match(stdout, /--format table\|jsonl/);
  });
});
