/**
 * Between the double's log and the protobuf messages that ship with
 * @eventstore/db-client (its generated/ folder): the same classes the client
 * serialises with, so what the double sends is what a real server sends.
 */
import grpc from '@grpc/grpc-js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { LogPosition, StoredEvent } from './event-log.js';

export { sharedPb, streamsPb };

/** An error status for a call, with EventStoreDB's `exception` metadata when it has one. */
export interface StatusError {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata;
}

export function statusError(code: grpc.status, details: string, metadata: Record<string, string> = {}): StatusError {
  const trailers = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) trailers.set(key, value);
  return { code, details, metadata: trailers };
}

export function unimplemented(what: string): StatusError {
  return statusError(grpc.status.UNIMPLEMENTED, `the EventStoreDB double does not implement ${what}`);
}

export function streamNameOf(identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string {
  if (identifier === undefined) throw new Error('no stream identifier');
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(streamId: string): InstanceType<typeof sharedPb.StreamIdentifier> {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(streamId, 'utf8'));
}

export function logPosition(position: { getCommitPosition(): string; getPreparePosition(): string }): LogPosition {
  return { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) };
}

/** One event of a read or a subscription, as ReadResp.event. */
export function eventResponse(event: StoredEvent): InstanceType<typeof streamsPb.ReadResp> {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(new sharedPb.UUID().setString(event.id))
    .setStreamIdentifier(streamIdentifier(event.streamId))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.position.commit.toString())
    .setPreparePosition(event.position.prepare.toString())
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('content-type', event.contentType)
    .set('created', event.createdTicks.toString());
  const read = new streamsPb.ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(event.position.commit.toString());
  return new streamsPb.ReadResp().setEvent(read);
}
