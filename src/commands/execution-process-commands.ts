/**
 * The execution commands the process manager sends (spec/domain.md, Execution
 * steps 1-7): thin handlers over runDecider, so each decision is an append with
 * the stream's expected revision (design.md, "Several instances"). `commandFor`
 * is called again after a conflict, so the facts it gathers stay fresh.
 */
import { streamIds } from '../domain/events.js';
import { executionDecider, type ExecutionCommand, type ExecutionState } from '../domain/execution.js';
import type { ExecutionEvent } from '../domain/execution-events.js';
import type { EventStore } from '../eventstore/event-store.js';
import { newCommandContext, type CommandContext } from './command-context.js';
import { runDecider, type DecisionResult } from './run-decider.js';

export type ExecutionDecision = DecisionResult<ExecutionEvent, ExecutionState>;

/** The context of a process manager's command decided at `at`: actor and source 'process-manager'. */
export function processManagerContext(at: Date, correlationId?: string | null, causationId?: string | null): CommandContext {
  return newCommandContext({ actor: 'process-manager', source: 'process-manager', at, correlationId: correlationId ?? null, causationId: causationId ?? null });
}

/** Decides one command on `execution-{executionId}` and appends its events. */
export function decideExecution(
  store: EventStore,
  executionId: string,
  commandFor: (state: ExecutionState) => ExecutionCommand | Promise<ExecutionCommand>,
  context: CommandContext,
): Promise<ExecutionDecision> {
  return runDecider(store, streamIds.execution(executionId), executionDecider, commandFor, context);
}
