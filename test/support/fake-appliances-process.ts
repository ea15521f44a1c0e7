/**
 * Entry of the child process that runs the fake VMA/OMA for
 * fake-appliances-host.ts: it starts them with the options the parent sends,
 * answers the parent's requests and exits when its parent lets go of it (or is
 * gone). Run it only through startFakeAppliancesProcess.
 */
import { EventEmitter } from 'node:events';
import { startFakeAppliances, type FakeAppliances, type FakeAppliancesOptions, type PushCounts, type PushTarget } from './fake-appliances.js';

/** What the fake has seen, as the parent reads it while a benchmark runs. */
export interface FakeAppliancesReport {
  /** `receivedAt` of the replication POSTs from the asked index on, in arrival order. */
  replicationPostTimes: number[];
  replicationPosts: number;
  discoveries: number;
  /** OMA job state reads (GET /api/v1/replications/{id}). */
  omaPolls: number;
  activeJobs: number;
  maxActiveJobs: number;
  /** CPU (user + system) of the fake's process since it started, in seconds. */
  cpuSeconds: number;
  pushes: PushCounts;
}

export type FakeProcessRequest =
  | { request: 'start'; options: FakeAppliancesOptions }
  | { request: 'report'; postsFrom: number }
  | { request: 'push'; target: PushTarget | null }
  | { request: 'close' };

export interface FakeProcessAnswers {
  start: { url: string; token: string };
  report: FakeAppliancesReport;
  push: null;
  close: null;
}

/** Parent -> child: a request and the id its answer carries. */
export type ParentMessage = FakeProcessRequest & { id: number };

/** Child -> parent. */
export type ChildMessage = { id: number; ok: true; answer: FakeProcessAnswers[keyof FakeProcessAnswers] } | { id: number; ok: false; error: string };

// The fake holds one abort listener per answer in flight (its latency wait): thousands at once, by design.
EventEmitter.defaultMaxListeners = 0;

let fake: FakeAppliances | undefined;
/** Counts kept as the request log grows, so a report reads only what is new. */
const seen = { scanned: 0, postTimes: [] as number[], discoveries: 0, omaPolls: 0 };

function report(postsFrom: number): FakeAppliancesReport {
  const requests = fake?.requests ?? [];
  for (; seen.scanned < requests.length; seen.scanned += 1) {
    const request = requests[seen.scanned]!;
    if (request.route === 'create') seen.postTimes.push(request.receivedAt);
    else if (request.route === 'discover') seen.discoveries += 1;
    else if (request.route === 'oma_state') seen.omaPolls += 1;
  }
  const cpu = process.cpuUsage();
  return {
    replicationPostTimes: seen.postTimes.slice(postsFrom),
    replicationPosts: seen.postTimes.length,
    discoveries: seen.discoveries,
    omaPolls: seen.omaPolls,
    activeJobs: fake?.activeJobCount() ?? 0,
    maxActiveJobs: fake?.maxActiveJobs() ?? 0,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    pushes: fake?.pushCounts() ?? { sent: 0, accepted: 0, refused: {} },
  };
}

async function answer(message: FakeProcessRequest): Promise<FakeProcessAnswers[keyof FakeProcessAnswers]> {
  switch (message.request) {
    case 'start':
      fake = await startFakeAppliances(message.options);
      return { url: fake.url, token: fake.token };
    case 'report':
      return report(message.postsFrom);
    case 'push':
      fake?.pushEnds(message.target);
      return null;
    case 'close':
      await fake?.close();
      fake = undefined;
      return null;
  }
}

function reply(message: ChildMessage): void {
  process.send?.(message);
}

process.on('message', (message: ParentMessage) => {
  answer(message).then(
    (result) => reply({ id: message.id, ok: true, answer: result }),
    (error: unknown) => reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
// The parent let go (or is gone): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
