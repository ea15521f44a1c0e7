/**
 * Streams.Read with a subscription, to $all: a confirmation, the events strictly after
 * the start position (catching up), CaughtUp once at the head, then every new event
 * as it is appended. A filter (event type or stream name, by regex or prefixes)
 * selects the events, and a checkpoint is sent every `window × multiplier` events
 * searched, as the server does. The double can drop a subscription with an error
 * status, as a server does on shutdown or a leader change.
 */
import { randomUUID } from 'node:crypto';
import type { EventLog, StoredEvent } from './event-log.js';
import type { ReadCall } from './read.js';
import { eventResponse, logPosition, streamsPb, unimplemented, type StatusError } from './messages.js';

type ReadOptions = InstanceType<typeof streamsPb.ReadReq.Options>;
type FilterOptions = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions>;

/** The server's search window when the client asks for `count` (its default). */
const DEFAULT_SEARCH_WINDOW = 32;

export interface LiveSubscription {
  /** Ends the call with this error status, or with none (OK) when null. */
  drop(error: StatusError | null): void;
}

export function startSubscription(log: EventLog, call: ReadCall, options: ReadOptions, live: Set<LiveSubscription>): void {
  if (!options.hasAll()) return void call.emit('error', unimplemented('subscriptions to a single stream'));
  const all = options.getAll()!;
  const subscription = new AllSubscription(log, call, options.hasFilter() ? eventFilter(options.getFilter()!) : null);
  live.add(subscription);
  subscription.ended.then(() => live.delete(subscription));
  const from = all.hasPosition() ? log.indexAfter(logPosition(all.getPosition()!)) : all.hasEnd() ? log.all.length : 0;
  void subscription.run(from);
}

interface EventFilter {
  matches(event: StoredEvent): boolean;
  checkpointEvery: number;
}

function eventFilter(options: FilterOptions): EventFilter {
  const onType = options.hasEventType();
  const expression = onType ? options.getEventType()! : options.getStreamIdentifier()!;
  const regex = expression.getRegex() === '' ? null : new RegExp(expression.getRegex());
  const prefixes = expression.getPrefixList();
  const window = options.hasMax() ? options.getMax() : DEFAULT_SEARCH_WINDOW;
  return {
    matches(event) {
      const value = onType ? event.type : event.streamId;
      return (regex === null || regex.test(value)) && (prefixes.length === 0 || prefixes.some((prefix) => value.startsWith(prefix)));
    },
    checkpointEvery: window * Math.max(1, options.getCheckpointintervalmultiplier()),
  };
}

class AllSubscription implements LiveSubscription {
  private stopped = false;
  private wake: (() => void) | null = null;
  /** A wake-up that came while not asleep: the next sleep returns at once (no lost append). */
  private signalled = false;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => {
    this.resolveEnded = resolve;
  });

  constructor(
    private readonly log: EventLog,
    private readonly call: ReadCall,
    private readonly filter: EventFilter | null,
  ) {
    call.on('cancelled', () => this.stop());
    call.on('error', () => this.stop());
  }

  async run(from: number): Promise<void> {
    const stopListening = this.log.onAppend(() => this.wakeUp());
    try {
      const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID());
      await this.send(new streamsPb.ReadResp().setConfirmation(confirmation));
      let next = from;
      let searched = 0;
      let caughtUp = false;
      while (!this.stopped) {
        const event = this.log.all[next];
        if (event === undefined) {
          if (!caughtUp) {
            caughtUp = true;
            await this.send(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp()));
          }
          await this.sleep();
          continue;
        }
        next += 1;
        searched += 1;
        if (this.filter === null || this.filter.matches(event)) await this.send(eventResponse(event));
        if (this.filter !== null && searched % this.filter.checkpointEvery === 0) await this.send(checkpointAt(event));
      }
    } finally {
      stopListening();
      this.stop();
    }
  }

  drop(error: StatusError | null): void {
    if (this.stopped) return;
    this.stop();
    if (error === null) this.call.end();
    else this.call.emit('error', error);
  }

  private stop(): void {
    this.stopped = true;
    this.wakeUp();
    this.resolveEnded();
  }

  /** Writes with backpressure: waits for the client to drain before the next one. */
  private async send(response: InstanceType<typeof streamsPb.ReadResp>): Promise<void> {
    if (this.stopped) return;
    if (this.call.write(response)) return;
    const drained = () => this.wakeUp();
    this.call.once('drain', drained);
    await this.sleep();
    this.call.off('drain', drained);
  }

  private sleep(): Promise<void> {
    if (this.stopped || this.signalled) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    if (wake) wake();
    else this.signalled = true;
  }
}

function checkpointAt(event: StoredEvent): InstanceType<typeof streamsPb.ReadResp> {
  const checkpoint = new streamsPb.ReadResp.Checkpoint()
    .setCommitPosition(event.position.commit.toString())
    .setPreparePosition(event.position.prepare.toString());
  return new streamsPb.ReadResp().setCheckpoint(checkpoint);
}
