/** What every write route does around its command: context in, read-your-writes out. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { newCommandContext, type CommandContext } from '../commands/command-context.js';
import type { Position } from '../eventstore/event-store.js';
import type { ApiDeps } from './app.js';

const CORRELATION_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function commandContext(request: FastifyRequest, deps: ApiDeps): CommandContext {
  const correlation = request.headers['x-correlation-id'];
  return newCommandContext({
    actor: request.principal.name,
    source: 'api',
    at: deps.clock.now(),
    requestId: request.id,
    correlationId: typeof correlation === 'string' && CORRELATION_PATTERN.test(correlation) ? correlation : request.id,
  });
}

/**
 * Waits (bounded) until every projection has applied `position`, so the answer
 * and the client's next read show the write. Returns false on timeout.
 */
export async function readYourWrites(deps: ApiDeps, request: FastifyRequest, position: Position | null): Promise<boolean> {
  if (position === null) return true;
  const caughtUp = await deps.projections.waitForPosition(position, deps.config.readYourWritesTimeoutMs);
  if (!caughtUp) request.log.warn({ position }, 'read models did not reach the write within the read-your-writes bound');
  return caughtUp;
}

/**
 * Answers a write with the fresh read-model view; when the read models lag past
 * the bound, answers 202 with the id so the client knows the write is recorded.
 */
export async function answerWrite<T>(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: { id: string; position: Position | null },
  status: number,
  load: () => Promise<T | null>,
): Promise<FastifyReply> {
  await readYourWrites(deps, request, outcome.position);
  const view = await load();
  if (view === null) {
    return reply.code(202).send({ id: outcome.id, status: 'accepted', message: 'recorded; the read models are still catching up', position: outcome.position });
  }
  return reply.code(status).send(view);
}
