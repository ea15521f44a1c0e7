/**
 * Given/when/then specifications for deciders:
 *
 *   given(decider, pastEvents).when(command).then(expectedEvents)
 *   given(decider, pastEvents).when(command).thenThrows('ValidationError', '/cron_expression')
 *
 * thenThrows matches `pathOrMessageFragment` against the paths of the error's
 * details and against its message.
 */
import assert from 'node:assert/strict';
import { DomainError, type Decider, type DomainErrorKind } from '../../src/domain/decider.js';

export interface Then<Event, State> {
  /** The command's events, exactly. Returns them for further checks. */
  then(expected: Event[]): Event[];
  /** The command is refused with this kind; the fragment is found in a detail path or the message. */
  thenThrows(kind: DomainErrorKind, pathOrMessageFragment?: string): DomainError;
  /** The state after the past events and the command's events. */
  thenState(check: (state: State) => void): State;
}

export function given<Command, Event, State>(decider: Decider<Command, Event, State>, events: Event[] = []) {
  const state = events.reduce((s, e) => decider.evolve(s, e), decider.initialState);
  return {
    state,
    when(command: Command): Then<Event, State> {
      return {
        then(expected) {
          const actual = decider.decide(command, state);
          assert.deepStrictEqual(actual, expected);
          return actual;
        },
        thenThrows(kind, fragment) {
          let thrown: unknown;
          try {
            const events = decider.decide(command, state);
            assert.fail(`expected ${kind}${fragment ? ` (${fragment})` : ''}, got events ${JSON.stringify(events)}`);
          } catch (error) {
            thrown = error;
          }
          if (!(thrown instanceof DomainError)) throw thrown;
          assert.equal(thrown.kind, kind, `expected ${kind}, got ${thrown.kind}: ${thrown.message}`);
          if (fragment !== undefined) {
            const found = thrown.details.some((d) => d.path === fragment || d.path.includes(fragment)) || thrown.message.includes(fragment);
            assert.ok(found, `"${fragment}" not in ${thrown.message} ${JSON.stringify(thrown.details)}`);
          }
          return thrown;
        },
        thenState(check) {
          const produced = decider.decide(command, state);
          const after = produced.reduce((s, e) => decider.evolve(s, e), state);
          check(after);
          return after;
        },
      };
    },
  };
}
