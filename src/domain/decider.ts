/** A decider: the pure core of an aggregate. No I/O, no clock reads. */
export interface Decider<Command, Event, State> {
  initialState: State;
  evolve(state: State, event: Event): State;
  /** The events the command causes, or a thrown DomainError. */
  decide(command: Command, state: State): Event[];
}

export type DomainErrorKind = 'ValidationError' | 'NotFound' | 'Conflict';

export interface FieldProblem {
  /** JSON pointer of the offending field, e.g. "/cron_expression". */
  path: string;
  message: string;
}

/** A refusal by the domain; the API maps `kind` to the status of spec/api.md. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export const validationError = (path: string, message: string) => new DomainError('ValidationError', message, [{ path, message }]);
