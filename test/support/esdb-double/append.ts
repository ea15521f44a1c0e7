/**
 * Streams.Append: the options message, then the proposed events, then one answer
 * (success with the revision and position, or WrongExpectedVersion with the current
 * revision), or a fault a test injected.
 */
import grpc from '@grpc/grpc-js';
import type { AppendFaults } from './faults.js';
import type { AppendOutcome, EventLog, ExpectedState, ProposedEvent } from './event-log.js';
import { sharedPb, statusError, streamNameOf, streamsPb, type StatusError } from './messages.js';

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type Options = InstanceType<typeof streamsPb.AppendReq.Options>;

export function appendHandler(log: EventLog, faults: AppendFaults): grpc.handleClientStreamingCall<AppendReq, AppendResp> {
  return (call, callback) => {
    let options: Options | undefined;
    const proposed: ProposedEvent[] = [];
    let refusal: StatusError | null = null;
    call.on('data', (request: AppendReq) => {
      if (refusal !== null) return;
      try {
        if (request.hasOptions()) options = request.getOptions();
        else if (request.hasProposedMessage()) proposed.push(proposedEvent(request.getProposedMessage()!));
      } catch (error) {
        refusal = error as StatusError;
      }
    });
    call.on('error', () => undefined); // the client went away: nothing to answer
    call.on('end', () => {
      if (refusal !== null) return callback(refusal);
      if (options === undefined) return callback(statusError(grpc.status.INVALID_ARGUMENT, 'append without options'));
      if (proposed.length === 0) return callback(statusError(grpc.status.INVALID_ARGUMENT, 'append without events'));
      const streamId = streamNameOf(options.getStreamIdentifier());
      const expected = expectedState(options);
      const fault = faults.takeNext();
      if (fault?.when === 'before-write') return callback(fault.error);
      const outcome = log.append(streamId, proposed, expected);
      // An answer lost after the write: the client cannot know the append landed.
      if (fault?.when === 'after-write') return callback(fault.error);
      callback(null, appendResponse(outcome, options));
    });
  };
}

function proposedEvent(message: InstanceType<typeof streamsPb.AppendReq.ProposedMessage>): ProposedEvent {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (type === undefined || contentType === undefined) {
    throw statusError(grpc.status.INVALID_ARGUMENT, 'Required metadata property missing: type and content-type', {
      exception: 'missing-required-metadata-property',
    });
  }
  const id = message.getId();
  if (id === undefined || !id.hasString()) throw statusError(grpc.status.UNIMPLEMENTED, 'the double takes string UUIDs only');
  return { id: id.getString(), type, contentType, data: message.getData_asU8(), customMetadata: message.getCustomMetadata_asU8() };
}

function expectedState(options: Options): ExpectedState {
  if (options.hasRevision()) return { kind: 'revision', revision: BigInt(options.getRevision()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

function appendResponse(outcome: AppendOutcome, options: Options): AppendResp {
  const response = new streamsPb.AppendResp();
  if (outcome.kind === 'wrong_expected_version') {
    const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
    if (outcome.current === null) wrong.setCurrentNoStream(new sharedPb.Empty());
    else wrong.setCurrentRevision(outcome.current.toString());
    if (options.hasRevision()) wrong.setExpectedRevision(options.getRevision());
    else if (options.hasNoStream()) wrong.setExpectedNoStream(new sharedPb.Empty());
    else if (options.hasStreamExists()) wrong.setExpectedStreamExists(new sharedPb.Empty());
    else wrong.setExpectedAny(new sharedPb.Empty());
    return response.setWrongExpectedVersion(wrong);
  }
  const success = new streamsPb.AppendResp.Success().setCurrentRevision(outcome.lastRevision.toString());
  if (outcome.kind === 'written') {
    success.setPosition(
      new streamsPb.AppendResp.Position()
        .setCommitPosition(outcome.position.commit.toString())
        .setPreparePosition(outcome.position.prepare.toString()),
    );
  } else {
    success.setNoPosition(new sharedPb.Empty());
  }
  return response.setSuccess(success);
}
