/**
 * Which aggregate a stream belongs to, by the prefix of its id, and the decider
 * that folds its events into the aggregate's state.
 */
import type { Decider } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import { executionDecider } from '../domain/execution.js';
import { groupDecider } from '../domain/machine-group.js';
import { reservationDecider } from '../domain/reservation.js';
import { scheduleDecider } from '../domain/schedule.js';
import { vmDecider } from '../domain/vm-context.js';

export type AggregateKind = 'schedule' | 'machine-group' | 'vm-context' | 'execution' | 'reservation';

/** What replay needs of a decider: its initial state and evolve (decide is never called). */
export interface StreamAggregate {
  kind: AggregateKind;
  prefix: string;
  decider: Pick<Decider<unknown, { type: string; data: unknown }, unknown>, 'initialState' | 'evolve'>;
}

const aggregate = <C, E extends { type: string; data: unknown }, S>(kind: AggregateKind, prefix: string, decider: Decider<C, E, S>): StreamAggregate => ({
  kind,
  prefix,
  decider: decider as unknown as StreamAggregate['decider'],
});

/** Every aggregate's stream prefix (reservation streams: see reservationStreamId). */
export const STREAM_AGGREGATES: readonly StreamAggregate[] = [
  aggregate('schedule', streamIds.schedule(''), scheduleDecider),
  aggregate('machine-group', streamIds.group(''), groupDecider),
  aggregate('vm-context', streamIds.vm(''), vmDecider),
  aggregate('execution', streamIds.execution(''), executionDecider),
  aggregate('reservation', 'reservation-', reservationDecider),
];

/** The aggregate of a stream id, or null when no aggregate's streams look like it. */
export function aggregateOfStream(streamId: string): StreamAggregate | null {
  return STREAM_AGGREGATES.find((candidate) => streamId.startsWith(candidate.prefix) && streamId.length > candidate.prefix.length) ?? null;
}
