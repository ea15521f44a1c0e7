import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Hands each event to `apply` with no delay when idle, and batches what arrives
 * while a batch is being applied (at most `maxSize` at a time). Writes answer as
 * soon as their event is applied, and a burst still goes out in few transactions.
 * Emits once per applied batch; an `apply` failure errors the stream.
 */
export function batchWhileBusy<T>(maxSize: number, apply: (batch: T[]) => Promise<void>): OperatorFunction<T, T[]> {
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
            await apply(batch);
            subscriber.next(batch);
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
