/**
 * The fake VMA/OMA of fake-appliances.ts in a child process of their own, as
 * the real appliances are other machines: a benchmark's process (its event loop
 * and its CPU figures) is then the service's alone. The parent reads what the
 * fake saw through reports (counts, replication POST times, the most jobs
 * active at once) rather than its request log. Tests that script or inspect the
 * fake request by request use startFakeAppliances in-process instead.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FakeAppliancesOptions, PushTarget } from './fake-appliances.js';
import type { ChildMessage, FakeAppliancesReport, FakeProcessAnswers, FakeProcessRequest } from './fake-appliances-process.js';

export type { FakeAppliancesReport } from './fake-appliances-process.js';

export interface FakeAppliancesProcess {
  /** Base URL of both the VMA and the OMA. */
  readonly url: string;
  readonly token: string;
  readonly pid: number;
  /** What the fake has seen so far; `postsFrom`: index of the first replication POST time to return. */
  report(postsFrom?: number): Promise<FakeAppliancesReport>;
  /** Jobs created from now on end on their own and are pushed to `target` (see PushTarget); null: polls only. */
  pushEnds(target: PushTarget | null): Promise<void>;
  /** Stops the fake and waits until its process has exited. */
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./fake-appliances-process.ts', import.meta.url));

/** Starts the fake in a child process, run with this process's Node options (so TypeScript loads the same way). */
export async function startFakeAppliancesProcess(options: FakeAppliancesOptions = {}): Promise<FakeAppliancesProcess> {
  const child = fork(ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve: (answer: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let gone: Error | undefined;

  child.on('message', (message: ChildMessage) => {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiting?.resolve(message.answer);
    else waiting?.reject(new Error(`fake appliances process: ${message.error}`));
  });
  void exited.then(() => {
    gone = new Error(`fake appliances process exited (code ${String(child.exitCode ?? child.signalCode)})`);
    for (const waiting of pending.values()) waiting.reject(gone);
    pending.clear();
  });

  function ask<K extends FakeProcessRequest['request']>(request: Extract<FakeProcessRequest, { request: K }>): Promise<FakeProcessAnswers[K]> {
    if (gone !== undefined) return Promise.reject(gone);
    nextId += 1;
    const id = nextId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (answer: unknown) => void, reject });
      child.send({ ...request, id });
    });
  }

  let address: FakeProcessAnswers['start'];
  try {
    address = await ask({ request: 'start', options });
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    url: address.url,
    token: address.token,
    pid: child.pid ?? -1,
    report: (postsFrom = 0) => ask({ request: 'report', postsFrom }),
    pushEnds: async (target) => {
      await ask({ request: 'push', target });
    },
    close: async () => {
      if (gone === undefined) {
        await ask({ request: 'close' });
        child.disconnect();
      }
      await exited;
    },
  };
}
