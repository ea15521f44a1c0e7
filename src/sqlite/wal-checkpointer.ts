/**
 * Checkpoints an SQLite WAL file from a worker thread. SQLite's automatic checkpoint
 * runs inside the commit that takes the WAL past its threshold, on the committing
 * connection: it copies ~1,000 pages into the database file and syncs it twice, and
 * the event loop waits for all of it. A checkpoint from another connection, in a
 * worker, does that work beside the event loop (PASSIVE: it never blocks a reader or
 * the writer, and copies what it can).
 *
 * The database's own connection keeps an automatic checkpoint at a far higher
 * threshold as a backstop (the WAL stays bounded should the worker stop).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** WAL pages past which the writing connection checkpoints itself (backstop; SQLite's default is 1,000). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 20_000;
const DEFAULT_INTERVAL_MS = 250;
/**
 * Once the WAL is copied whole and nothing was committed since, ticks come this many
 * times less often: each costs the worker ~1 ms of CPU (cold JavaScript and a statement),
 * which at 4 ticks a second was ~0.5 % of a core for an idle service. The first commit
 * after a quiet spell waits at most one idle tick for its checkpoint (the backstop bounds
 * the WAL meanwhile).
 */
const IDLE_INTERVAL_FACTOR = 4;
/** Checkpoint passes per tick at most. */
const MAX_PASSES = 8;

export interface WalCheckpointer {
  /** Stops the worker (after a last checkpoint); resolves when it has closed its connection. */
  stop(): Promise<void>;
}

/** The worker, as plain JavaScript (evaluated, so the same under tsx and from dist/). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
// Passes until one finds the whole WAL copied and nothing committed since the pass
// before (each copies only what was committed during the last, so they get short):
// then the writer's next transaction starts the WAL over instead of making it longer.
// A tick after such a pass, with nothing committed since (data_version: another
// connection's commits change it), has nothing to copy: an idle service skips it.
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const walCheckpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let settledAtVersion = null;
/** Returns whether the WAL is settled: copied whole, nothing committed since. */
const checkpoint = () => {
  try {
    const version = dataVersion.get();
    if (version === settledAtVersion) return true;
    settledAtVersion = null;
    let previousLog = -1;
    for (let pass = 0; pass < workerData.maxPasses; pass++) {
      const result = walCheckpoint.get();
      if (!result) return false;
      if (result.log === result.checkpointed && result.log === previousLog) {
        settledAtVersion = version;
        return true;
      }
      previousLog = result.log;
    }
  } catch {
    // Busy or closing: the next tick (or the backstop) checkpoints.
  }
  return false;
};
let timer = null;
const tick = () => {
  const settled = checkpoint();
  timer = setTimeout(tick, settled ? workerData.idleIntervalMs : workerData.intervalMs);
};
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', () => {
  clearTimeout(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export function startWalCheckpointer(filename: string, intervalMs = DEFAULT_INTERVAL_MS): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { filename, intervalMs, idleIntervalMs: intervalMs * IDLE_INTERVAL_FACTOR, driver, maxPasses: MAX_PASSES } });
  // It never keeps the process alive; a failure leaves the backstop to checkpoint.
  worker.unref();
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    worker.once('error', () => resolve());
  });
  return {
    async stop() {
      // Held until it has closed its connection (unref'd, it would not keep a closing process alive).
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
