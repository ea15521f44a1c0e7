/**
 * The service under test for bench:commands, run as a child process (so the
 * load generator does not share its event loop or core): starts the whole
 * service from the environment (loadConfig), listens on 127.0.0.1 on a free
 * port, and talks to the parent over IPC:
 *
 *   -> { type: 'listening', port }
 *   <- { type: 'stats' }  -> { type: 'stats', maxRssKb, rssBytes, cpuMs, events }
 *   <- { type: 'stop' }   -> { type: 'stopped' }, then exits
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';

export type ServerMessage =
  | { type: 'listening'; port: number }
  | { type: 'stats'; maxRssKb: number; rssBytes: number; cpuMs: number; events: number | null }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'stats' } | { type: 'stop' };

const send = (message: ServerMessage) => process.send?.(message);

/** Events in the log: the head position when positions are sequence numbers (SQL stores). */
async function headEvents(head: () => Promise<string | null>): Promise<number | null> {
  const position = await head().catch(() => null);
  return position !== null && /^\d+$/.test(position) ? Number(position) : null;
}

/** CPU time (user + system) this process has used. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

try {
  const service = await startService(loadConfig(process.env));
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = service.app.server.address() as AddressInfo;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      void headEvents(() => service.store.headPosition()).then((events) =>
        send({ type: 'stats', maxRssKb: process.resourceUsage().maxRSS, rssBytes: process.memoryUsage().rss, cpuMs: cpuMs(), events }),
      );
    } else if (message.type === 'stop') {
      void service.stop().then(() => {
        send({ type: 'stopped' });
        process.disconnect?.();
        // Leave through a normal exit so --cpu-prof writes its profile.
        setTimeout(() => process.exit(0), 200).unref();
      });
    }
  });
  send({ type: 'listening', port });
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
}
