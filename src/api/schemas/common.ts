/** JSON schemas shared by the route modules. */

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message', 'request_id'],
  properties: {
    error: { type: 'string', enum: ['ValidationError', 'Unauthorized', 'Forbidden', 'NotFound', 'Conflict', 'PayloadTooLarge', 'RateLimited', 'Unavailable', 'InternalError'] },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    request_id: { type: 'string' },
  },
} as const;

/** Ids are made by the service; anything longer than this cannot be one. */
export const idParam = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: idParam },
  additionalProperties: false,
} as const;

export const pagingQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  page: { type: 'integer', minimum: 1, maximum: 1000000, default: 1 },
} as const;

export const isoInstant = { type: 'string', format: 'date-time' } as const;

export const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

/** Error answers every route may give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, object> {
  const responses: Record<number, object> = {};
  for (const status of [400, 401, 403, ...statuses]) responses[status] = { $ref: 'Error#' };
  return responses;
}
