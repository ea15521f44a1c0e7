/** Shared bits of the client tests: fast retries that record their waits, and an echoing server. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RetryPolicy } from '../../src/integrations/http-exchange.js';

export function recordedRetries(): RetryPolicy & { waits: number[] } {
  const waits: number[] = [];
  return {
    delaysMs: [5, 10],
    waits,
    sleep: async (ms) => {
      waits.push(ms);
    },
  };
}

/** A server that answers every request `status` with the Authorization header and body in plain text, as a careless appliance might. */
export async function startEchoServer(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(`cannot do that: ${request.headers.authorization ?? ''} ${Buffer.concat(chunks).toString('utf8')}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on which nothing listens: a port that was just freed. */
export async function closedPortUrl(): Promise<string> {
  const echo = await startEchoServer(200);
  await echo.close();
  return echo.url;
}
