/**
 * The timer port the ticker sleeps with: real timers in production; in tests a
 * manual clock (test/support/manual-clock.ts) that fires them when it is
 * advanced past their deadline, so no test sleeps through wall time.
 */
export interface TimerPort {
  /** Calls `callback` once, `ms` milliseconds from now (on the port's clock). Returns a cancel function. */
  setTimeout(callback: () => void, ms: number): () => void;
}

export const systemTimers: TimerPort = {
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};
