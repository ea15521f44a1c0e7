/** The error shape of spec/api.md and the statuses of its kinds. */
import { DomainError, type FieldProblem } from '../domain/decider.js';

export type ErrorKind = 'ValidationError' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Conflict' | 'PayloadTooLarge' | 'RateLimited' | 'Unavailable' | 'InternalError';

export const STATUS_OF: Record<ErrorKind, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  RateLimited: 429,
  Unavailable: 503,
  InternalError: 500,
};

export interface ErrorBody {
  error: ErrorKind;
  message: string;
  details?: FieldProblem[];
  request_id: string;
}

/** An error the API answers as it is. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }
  get statusCode(): number {
    return STATUS_OF[this.kind];
  }
}

export const notFound = (what: string, id: string) => new ApiError('NotFound', `${what} ${id} not found`);

export function fromDomainError(error: DomainError): ApiError {
  return new ApiError(error.kind, error.message, error.details);
}
