import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionEvent } from '../../src/domain/execution-events.js';
import { executionDecider, type ExecutionRecord } from '../../src/domain/execution.js';
import { evaluationRoom, type RoundLimits } from '../../src/processes/evaluation-room.js';
import { clearEvaluationFacts } from '../support/evaluation-facts.js';

const AT = '2026-05-01T10:00:00.000Z';

/** A running execution of schedule s1 over `vms` (all of group g1), of which the first `holding` hold a slot (requested). */
function execution(id: string, vms: string[], holding: number, options: { maxJobs?: number; force?: boolean; queued?: number } = {}): ExecutionRecord {
  const events: ExecutionEvent[] = [
    {
      type: 'ExecutionScheduled',
      data: { execution_id: id, schedule_id: 's1', scheduled_at: AT, not_before: AT, trigger: 'manual', triggered_by: 'manual:op', reason: null, group_id: null, force: options.force ?? false, parent_execution_id: null, at: AT },
    },
    {
      type: 'ExecutionStarted',
      data: {
        started_at: AT,
        settings: { max_concurrent_jobs: options.maxJobs ?? 10, retry_attempts: 0, retry_delay_minutes: 30, replication_type: 'auto' },
        plan: vms.map((vm, i) => ({ vm_context_id: vm, vm_name: `vm-${vm}`, group_id: 'g1', group_priority: 0, member_priority: i })),
      },
    },
    ...vms.slice(0, holding).map((vm): ExecutionEvent => ({ type: 'JobRequested', data: { vm_context_id: vm, attempt: 1, dispatch_id: `d-${vm}`, at: AT } })),
    ...vms
      .slice(holding, holding + (options.queued ?? vms.length))
      .map((vm): ExecutionEvent => ({ type: 'VmQueued', data: { vm_context_id: vm, conflict_type: 'group_concurrent', reason: 'full', at: AT } })),
  ];
  const state = events.reduce(executionDecider.evolve, executionDecider.initialState);
  assert.ok(state.status === 'running');
  return state;
}

const vmIds = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const limits = (groupLimit: number | null, scheduleEnabled = true): RoundLimits => ({ scheduleEnabled, groupLimits: new Map([['g1', groupLimit]]) });

/** How many VMs of group g1 the room takes, one after another, before it says no (at most `cap`). */
function taken(room: ReturnType<typeof evaluationRoom>, cap = 100): number {
  let n = 0;
  while (n < cap && room.fits({ group_id: 'g1' })) {
    room.take({ group_id: 'g1' });
    n += 1;
  }
  return n;
}

describe('evaluation room: how many queued VMs a batch takes', () => {
  it('takes as many as the group has free slots', () => {
    const current = execution('e1', vmIds('v', 8), 1);
    assert.equal(taken(evaluationRoom(current, new Map(), limits(3))), 2);
  });

  it('takes as many as the schedule has free slots when its limit binds first', () => {
    const current = execution('e1', vmIds('v', 8), 1, { maxJobs: 4 });
    assert.equal(taken(evaluationRoom(current, new Map(), limits(10))), 3);
  });

  it('counts the slots other executions hold: of the schedule against its limit, of the group against the group limit', () => {
    const current = execution('e1', vmIds('v', 8), 1, { maxJobs: 5 });
    const other = execution('e2', vmIds('w', 4), 2);
    assert.equal(taken(evaluationRoom(current, new Map([['e2', other]]), limits(10))), 2, 'schedule: 5 - 1 - 2');
    assert.equal(taken(evaluationRoom(current, new Map([['e2', other]]), limits(4))), 1, 'group: 4 - 1 - 2');
  });

  it('takes none when the slots are all held, and the VMs put in the batch count as taking a slot', () => {
    const current = execution('e1', vmIds('v', 8), 3);
    const room = evaluationRoom(current, new Map(), limits(5));
    room.take({ group_id: 'g1' });
    room.take({ group_id: 'g1' });
    assert.equal(room.fits({ group_id: 'g1' }), false);
  });

  it('applies only the schedule limit to a group without a limit and to a VM without a group', () => {
    const current = execution('e1', vmIds('v', 8), 1, { maxJobs: 3 });
    assert.equal(taken(evaluationRoom(current, new Map(), limits(null))), 2);
    const room = evaluationRoom(current, new Map(), limits(1));
    assert.equal(room.fits({ group_id: 'g1' }), false);
    assert.equal(room.fits({ group_id: null }), true);
  });

  it('says whether a VM of any of some groups would still find a slot', () => {
    const current = execution('e1', vmIds('v', 8), 2, { maxJobs: 4 });
    const room = evaluationRoom(current, new Map(), { scheduleEnabled: true, groupLimits: new Map([['g1', 2], ['g2', 5]]) });
    assert.equal(room.fitsAny(['g1']), false, 'g1 holds its 2');
    assert.equal(room.fitsAny(['g1', 'g2']), true);
    room.take({ group_id: 'g2' });
    room.take({ group_id: 'g2' });
    assert.equal(room.fitsAny(['g1', 'g2', null]), false, 'the schedule holds its 4');
    assert.equal(room.fitsAny([]), false);
  });

  it('takes every queued VM of a disabled schedule (they are skipped), but keeps the limits for a forced execution', () => {
    const current = execution('e1', vmIds('v', 8), 2);
    assert.equal(taken(evaluationRoom(current, new Map(), limits(2, false))), 100);
    const forced = execution('e1', vmIds('v', 8), 2, { force: true });
    assert.equal(taken(evaluationRoom(forced, new Map(), limits(2, false))), 0);
  });

  it('agrees with the decider: the VMs it takes are dispatched, and one more would be queued', () => {
    for (const [held, otherHeld, maxJobs, groupLimit] of [
      [0, 0, 10, 3],
      [1, 2, 5, 10],
      [2, 1, 10, 4],
      [3, 0, 3, 10],
    ] as const) {
      const current = execution('e1', vmIds('v', 8), held, { maxJobs });
      const other = execution('e2', vmIds('w', 4), otherHeld);
      const n = taken(evaluationRoom(current, new Map([['e2', other]]), limits(groupLimit)));
      const queued = vmIds('v', 8).slice(held, held + n + 1);
      const events = executionDecider.decide(
        {
          type: 'EvaluateVms',
          execution_id: 'e1',
          at: AT,
          actor: 'pm',
          evaluations: queued.map((vm) => ({
            vm_context_id: vm,
            dispatch_id: `x-${vm}`,
            facts: clearEvaluationFacts({
              schedule_running_jobs: held + otherHeld,
              schedule_max_concurrent_jobs: maxJobs,
              group_running_jobs: held + otherHeld,
              group_max_concurrent_vms: groupLimit,
            }),
          })),
        },
        current,
      );
      const requested = events.filter((e) => e.type === 'JobRequested').map((e) => e.data.vm_context_id);
      assert.deepEqual(requested, queued.slice(0, n), `held ${held}+${otherHeld}, limits ${maxJobs}/${groupLimit}`);
    }
  });
});
