import { Observable, type OperatorFunction } from 'rxjs';

/** How long to gather events after a batch that took `elapsedMs`, before applying the next (0: at once). */
export type RestAfterBatch = (elapsedMs: number) => number;


/**
 * Hands each event to `apply` with no delay when idle, and batches what arrives
 * while a batch is being applied (at most `maxSize` at a time). Writes answer as
 * soon as their event is applied, and a burst still goes out in few transactions.
 * Emits once per applied batch; an `apply` failure errors the stream.
 *
 * After a batch, `restAfter` says how long to gather events before the next one. No
 * rest while a full batch is waiting already: the backlog fills the batches, which
 * spreads their cost as well as a rest would, and resting would only let the backlog
 * grow (a reader waiting on its write would wait the longer). The event loop still
 * gets a turn between batches.
 */
export function batchWhileBusy<T>(maxSize: number, apply: (batch: T[]) => Promise<void>, restAfter: RestAfterBatch = () => 0): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      const queue: T[] = [];
      let draining = false;
      let sourceDone = false;
      const drain = async () => {
        draining = true;
        try {
          while (queue.length > 0 && !subscriber.closed) {
            const batch = queue.splice(0, maxSize);
            const started = performance.now();
            await apply(batch);
            subscriber.next(batch);
            const restMs = queue.length >= maxSize ? 0 : restAfter(performance.now() - started);
            if (restMs > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
            else if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
          }
        } catch (error) {
          subscriber.error(error);
          return;
        } finally {
          draining = false;
        }
        if (sourceDone) subscriber.complete();
      };
      const subscription = source.subscribe({
        next: (item) => {
          queue.push(item);
          // A microtask later, so events emitted together arrive as one batch.
          if (!draining) {
            draining = true;
            queueMicrotask(() => void drain());
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!draining) subscriber.complete();
        },
      });
      return () => subscription.unsubscribe();
    });
}
