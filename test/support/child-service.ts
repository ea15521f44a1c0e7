/**
 * The service as an operator runs it, in a child process (`node --import tsx
 * src/main.ts`) configured by its environment alone, for tests that kill it
 * (SIGKILL: no shutdown code runs) and start it again on the same DATA_DIR.
 * It listens on a port of its own choosing (PORT=0), read from its log.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ChildService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote on stdout and stderr so far (for failure messages). */
  output(): string;
  /** Kills it with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop) and waits until it is gone. */
  stop(): Promise<void>;
  /** Resolves with the exit code (or the signal's name) once it has exited. */
  readonly exited: Promise<number | string | null>;
}

const START_TIMEOUT_MS = 30_000;

/** Starts the service with `env` (plus PATH) and resolves once /health/ready answers 200. */
export async function startChildService(env: Record<string, string>): Promise<ChildService> {
  // Only what the test names: a DATABASE_URL or OMA_API_URL of the runner's environment must not leak in.
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const gone = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };

  try {
    const url = await listeningAddress(() => output, exited);
    await waitUntilReady(url, () => output);
    return {
      url,
      pid: child.pid ?? -1,
      output: () => output,
      kill: () => gone('SIGKILL'),
      stop: () => gone('SIGTERM'),
      exited,
    };
  } catch (error) {
    await gone('SIGKILL');
    throw error;
  }
}

async function listeningAddress(output: () => string, exited: Promise<unknown>): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let stopped = false;
  void exited.then(() => (stopped = true));
  while (Date.now() < deadline) {
    const line = output()
      .split('\n')
      .find((l) => l.includes('replication scheduler listening'));
    if (line) return (JSON.parse(line) as { address: string }).address.replace('localhost', '127.0.0.1');
    if (stopped) throw new Error(`the service exited before listening:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the service did not listen within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

async function waitUntilReady(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const answer = await fetch(`${url}/health/ready`);
      if (answer.status === 200) return;
      last = `${answer.status} ${await answer.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url}/health/ready not 200 within ${START_TIMEOUT_MS} ms (last: ${last}):\n${output()}`);
}
