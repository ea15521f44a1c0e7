/**
 * Failures a test makes the double answer to the next appends, shaped as EventStoreDB
 * answers them: Unavailable (a node that is not ready, or shutting down) and NotLeader
 * (a follower, naming the leader's endpoint in the trailers, which the client reconnects to).
 */
import grpc from '@grpc/grpc-js';
import { statusError, type StatusError } from './messages.js';

export type AppendFaultKind = 'unavailable' | 'not-leader';

export interface AppendFault {
  kind: AppendFaultKind;
  /** before-write: nothing is written; after-write: the events are written, then the answer is lost. */
  when: 'before-write' | 'after-write';
}

export interface InjectedFault {
  when: AppendFault['when'];
  error: StatusError;
}

export class AppendFaults {
  private readonly queue: AppendFault[] = [];
  /** Appends answered with a fault so far. */
  injected = 0;

  /** @param leader The endpoint a NotLeader answer names (the double itself: it is the only node). */
  constructor(private readonly leader: () => { host: string; port: number }) {}

  /** The next `times` appends fail so. */
  inject(fault: AppendFault, times = 1): void {
    for (let index = 0; index < times; index += 1) this.queue.push(fault);
  }

  clear(): void {
    this.queue.length = 0;
  }

  takeNext(): InjectedFault | null {
    const fault = this.queue.shift();
    if (fault === undefined) return null;
    this.injected += 1;
    return { when: fault.when, error: this.errorFor(fault.kind) };
  }

  private errorFor(kind: AppendFaultKind): StatusError {
    if (kind === 'unavailable') return statusError(grpc.status.UNAVAILABLE, 'Server Is Not Ready');
    const { host, port } = this.leader();
    return statusError(grpc.status.NOT_FOUND, 'Leader info available', {
      exception: 'not-leader',
      'leader-endpoint-host': host,
      'leader-endpoint-port': String(port),
    });
  }
}
