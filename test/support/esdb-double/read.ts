/**
 * Streams.Read without a subscription: one stream (forwards or backwards, from a
 * revision, a count; an absent stream answers StreamNotFound) or $all (forwards from a
 * position inclusive; backwards from a position exclusive, i.e. the events before it).
 */
import { once } from 'node:events';
import grpc from '@grpc/grpc-js';
import type { EventLog, StoredEvent } from './event-log.js';
import { eventResponse, logPosition, streamIdentifier, streamNameOf, streamsPb, unimplemented } from './messages.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadResp = InstanceType<typeof streamsPb.ReadResp>;
type ReadOptions = InstanceType<typeof streamsPb.ReadReq.Options>;
export type ReadCall = grpc.ServerWritableStream<ReadReq, ReadResp>;

const BACKWARDS = streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;

export async function answerRead(log: EventLog, call: ReadCall, options: ReadOptions): Promise<void> {
  if (options.hasFilter()) return void call.emit('error', unimplemented('filtered reads (only subscriptions filter)'));
  const count = Number(BigInt(options.getCount()));
  const backwards = options.getReadDirection() === BACKWARDS;
  let events: Iterable<StoredEvent>;
  if (options.hasStream()) {
    const streamOptions = options.getStream()!;
    const streamId = streamNameOf(streamOptions.getStreamIdentifier());
    const stream = log.stream(streamId);
    if (stream.length === 0) {
      const notFound = new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(streamId));
      call.write(new streamsPb.ReadResp().setStreamNotFound(notFound));
      return void call.end();
    }
    if (backwards) {
      // Inclusive: backwards from revision r reads r, r-1, ...
      const last = stream.length - 1;
      const first = streamOptions.hasRevision() ? Math.min(Number(BigInt(streamOptions.getRevision())), last) : streamOptions.hasStart() ? 0 : last;
      events = descending(stream, first + 1, count);
    } else {
      const from = streamOptions.hasRevision() ? Number(BigInt(streamOptions.getRevision())) : streamOptions.hasEnd() ? stream.length : 0;
      events = stream.slice(from, from + count);
    }
  } else {
    const allOptions = options.getAll()!;
    const all = log.all;
    if (backwards) {
      const before = allOptions.hasPosition() ? log.indexAtOrAfter(logPosition(allOptions.getPosition()!)) : allOptions.hasStart() ? 0 : all.length;
      events = descending(all, before, count);
    } else {
      const from = allOptions.hasPosition() ? log.indexAtOrAfter(logPosition(allOptions.getPosition()!)) : allOptions.hasEnd() ? all.length : 0;
      events = all.slice(from, from + count);
    }
  }
  for (const event of events) {
    if (call.cancelled) return;
    if (!call.write(eventResponse(event))) await once(call, 'drain');
  }
  call.end();
}

/** Up to `count` events at indexes below `before`, newest first. */
function* descending(events: readonly StoredEvent[], before: number, count: number): Iterable<StoredEvent> {
  for (let index = before - 1, sent = 0; index >= 0 && sent < count; index -= 1, sent += 1) yield events[index]!;
}
