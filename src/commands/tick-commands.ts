/**
 * The ticker's commands on a schedule stream (spec/domain.md, "Ticker health and
 * missed runs"; "Several instances"): thin handlers over runDecider, so every
 * record is appended with the stream's expected revision and a second ticker
 * finds the instant recorded (the decider then returns no events).
 */
import { streamIds, type DueTrigger, type MissedRunsReason, type ScheduleEvent } from '../domain/events.js';
import { scheduleDecider, type ScheduleState } from '../domain/schedule.js';
import type { EventStore } from '../eventstore/event-store.js';
import { cachedState, rememberState } from './aggregate-cache.js';
import { newCommandContext, type CommandContext } from './command-context.js';
import { runDecider, type DecisionResult } from './run-decider.js';

export type TickResult = DecisionResult<ScheduleEvent, ScheduleState>;

/** The context of a ticker's command decided at `at`: actor and source 'ticker'. */
export function tickerContext(at: Date, correlationId?: string): CommandContext {
  return newCommandContext({ actor: 'ticker', source: 'ticker', at, correlationId: correlationId ?? null });
}

/**
 * Hands the command layer a schedule's state the caller folded itself (the ticker
 * folds every schedule stream): the next command on the stream then reads only the
 * events after `revision` instead of the whole stream. Ignored when the command
 * layer knows a newer revision already.
 */
export function primeScheduleState(store: EventStore, scheduleId: string, state: ScheduleState, revision: number): void {
  const streamId = streamIds.schedule(scheduleId);
  const cached = cachedState<ScheduleState>(store, streamId, scheduleDecider);
  if (cached !== null && cached.revision !== null && cached.revision >= revision) return;
  rememberState(store, streamId, scheduleDecider, state, revision);
}

/** Records `dueAt` of the schedule (ExecutionDue), unless refused (see dueRefusal): then no events. */
export function recordDue(store: EventStore, scheduleId: string, dueAt: Date, context: CommandContext, trigger: DueTrigger = 'cron'): Promise<TickResult> {
  return runDecider(
    store,
    streamIds.schedule(scheduleId),
    scheduleDecider,
    () => ({ type: 'RecordDue' as const, schedule_id: scheduleId, due_at: dueAt.toISOString(), trigger, at: context.at, actor: context.actor }),
    context,
  );
}

/**
 * Applies the schedule's catch-up policy up to `context.at`: RunsMissed for what is
 * dropped, ExecutionDue (trigger catchup) for what runs, in one append.
 */
export function recordCatchUp(store: EventStore, scheduleId: string, context: CommandContext): Promise<TickResult> {
  return runDecider(
    store,
    streamIds.schedule(scheduleId),
    scheduleDecider,
    () => ({ type: 'RecordCatchUp' as const, schedule_id: scheduleId, at: context.at, actor: context.actor }),
    context,
  );
}

/** Records due instants that will not run (RunsMissed), counted. */
export function recordMissedRuns(
  store: EventStore,
  scheduleId: string,
  missed: { dueInstants: Date[]; reason: MissedRunsReason; count?: number; countExact?: boolean; lastDueAt?: Date },
  context: CommandContext,
): Promise<TickResult> {
  return runDecider(
    store,
    streamIds.schedule(scheduleId),
    scheduleDecider,
    () => ({
      type: 'RecordMissedRuns' as const,
      schedule_id: scheduleId,
      due_instants: missed.dueInstants.map((d) => d.toISOString()),
      reason: missed.reason,
      ...(missed.count === undefined ? {} : { count: missed.count }),
      ...(missed.countExact === undefined ? {} : { count_exact: missed.countExact }),
      ...(missed.lastDueAt === undefined ? {} : { last_due_at: missed.lastDueAt.toISOString() }),
      at: context.at,
      actor: context.actor,
    }),
    context,
  );
}
