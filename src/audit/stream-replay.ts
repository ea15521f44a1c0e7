/**
 * An aggregate's state as of an instant: its stream folded with its decider's
 * evolve, from the first event up to the last one decided at or before the
 * instant (metadata.timestamp). The fold stops at the first event decided
 * later, so the state is always that of a prefix of the stream, as the
 * aggregate really went through it.
 */
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { toPlainJson } from './plain-json.js';
import { aggregateOfStream, STREAM_AGGREGATES, type AggregateKind } from './stream-aggregates.js';

export interface StreamReplay {
  stream: string;
  aggregate: AggregateKind;
  as_of: string;
  /** Revision of the last event folded; null when the stream had none by then. */
  revision: number | null;
  /** How many events were folded. */
  event_count: number;
  /** The folded state, as plain JSON. */
  state: unknown;
}

export interface ReplayOptions {
  /** Called with each folded event, in order (to print or keep them). */
  onEvent?: (event: RecordedEvent) => void;
  /** Events read per page of the stream. */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 2_000;

/** The stream folded as of `asOf`; null when no aggregate has such a stream or it has no events. */
export async function replayStream(store: EventStore, streamId: string, asOf: Date, options: ReplayOptions = {}): Promise<StreamReplay | null> {
  const aggregate = aggregateOfStream(streamId);
  if (aggregate === null) return null;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const limit = asOf.getTime();
  const { kind, decider } = aggregate;
  let state = decider.initialState;
  let revision: number | null = null;
  let count = 0;
  let seenAny = false;
  for (let fromRevision = 0; ; fromRevision += pageSize) {
    const page = await store.readStream(streamId, { fromRevision, maxCount: pageSize });
    if (page.length > 0) seenAny = true;
    for (const event of page) {
      if (Date.parse(event.metadata.timestamp) > limit) return finish();
      state = decider.evolve(state, { type: event.type, data: event.data });
      revision = event.revision;
      count++;
      options.onEvent?.(event);
    }
    if (page.length < pageSize) return finish();
  }

  function finish(): StreamReplay | null {
    if (!seenAny) return null;
    return { stream: streamId, aggregate: kind, as_of: asOf.toISOString(), revision, event_count: count, state: toPlainJson(state) };
  }
}

/** Why replayStream found nothing for `streamId`, in a sentence. */
export function unknownStreamMessage(streamId: string): string {
  if (aggregateOfStream(streamId) === null) {
    return `stream ${streamId} is not a stream of any aggregate (their ids start with ${STREAM_AGGREGATES.map((a) => a.prefix).join(', ')})`;
  }
  return `stream ${streamId} has no events`;
}
